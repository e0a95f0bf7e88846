/* The rating device beside a counter. Idle: the counter, its officer and its state. On
   rating_requested (the counter completed a ticket): the question with five large answers
   and an optional comment, for question_s at most; a tap rates through the visitor's route,
   then thanks for thanks_s, then idle. If the phone rates first (ticket_rated), the question
   goes away. The visitor may switch language; idle goes back to the language the device was opened
   in (the center's, or ?lang=). */
"use strict";
(function () {
  const {data, api, live} = QMS;
  const $ = (id) => document.getElementById(id);
  let lang = data.lang;
  let counter = {status: "closed", officer: null};
  let asking = null;   // the rating_requested being asked
  let timer = null;

  function tr(id, params) {
    let text = data.catalogues[lang][id] || data.catalogues.vi[id] || id;
    for (const [k, v] of Object.entries(params || {})) text = text.split("{" + k + "}").join(v);
    return text;
  }

  function setLang(code) {
    lang = code;
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = tr(node.dataset.t);
    const other = lang === "vi" ? "en" : "vi";
    $("r-lang").textContent = tr("page_language");
    $("r-lang").lang = other;
    render();
  }

  function render() {
    const name = data.names[lang] || data.names.vi;
    $("r-counter").textContent = name;
    $("r-idle-counter").textContent = name;
    $("r-officer").textContent = counter.officer
      ? tr("rating_officer", {officer: counter.officer}) : tr("rating_no_officer");
    $("r-state").textContent = counter.status === "closed" ? tr("rating_closed")
      : counter.status === "paused" ? tr("rating_paused") : "";
    $("r-officer").hidden = counter.status === "closed";
    $("r-hint").hidden = counter.status === "closed";  // nobody to rate at a closed counter
    if (asking) {
      const names = data.services[asking.service] || {};
      $("r-about").textContent = tr("rating_about", {
        number: asking.number, service: names[lang] || names.vi || asking.service});
    }
  }

  function show(which) {
    for (const id of ["r-idle", "r-ask", "r-thanks"]) $(id).hidden = id !== which;
  }

  function idle() {
    clearTimeout(timer);
    asking = null;
    if ($("r-comment")) $("r-comment").value = "";
    $("r-error").hidden = true;
    if (lang !== data.lang) setLang(data.lang);
    render();
    show("r-idle");
  }

  function ask(request) {
    if (asking && asking.token === request.token) return;
    clearTimeout(timer);
    asking = request;
    if ($("r-comment")) $("r-comment").value = "";
    $("r-error").hidden = true;
    render();
    show("r-ask");
    timer = setTimeout(idle, data.question_s * 1000);
  }

  function thank(messageId) {
    clearTimeout(timer);
    asking = null;
    $("r-thanks").textContent = tr(messageId);
    show("r-thanks");
    timer = setTimeout(idle, data.thanks_s * 1000);
  }

  for (const button of document.querySelectorAll(".r-score")) {
    button.addEventListener("click", async () => {
      if (!asking) return;
      const body = {score: Number(button.dataset.score)};
      const comment = $("r-comment") ? $("r-comment").value.trim() : "";
      if (comment) body.comment = comment;
      for (const b of document.querySelectorAll(".r-score")) b.disabled = true;
      const answer = await api("POST", "/api/tickets/" + encodeURIComponent(asking.token) + "/rating", body);
      for (const b of document.querySelectorAll(".r-score")) b.disabled = false;
      if (answer.ok) return thank("rating_thanks");
      if (answer.data.code === "already_rated") return thank("rating_already");
      $("r-error").textContent = answer.data.error || tr("page_offline");
      $("r-error").hidden = false;
    });
  }
  $("r-lang").addEventListener("click", () => setLang(lang === "vi" ? "en" : "vi"));

  live(() => ["rate:" + data.counter], {
    snapshot(state) {
      counter = state.counter;
      render();
      if (state.pending) ask(state.pending);
      else if (asking) idle();  // rated or expired while this device was offline
    },
    counter_changed(p) {
      counter = {status: p.status, officer: p.officer};
      render();
    },
    rating_requested(p) { ask(p); },
    ticket_rated(p) {
      if (asking && asking.number === p.number) thank("rating_thanks");
    },
  });
  idle();
})();

/* The officer's console: one counter, its ticket in hand, its lines and the officer's day.

   The server is the only truth. After every action, on every event of the counter's room and
   after every (re)connection, the console reads GET /api/counters/<id>/console again, so a
   missed event, a dropped connection or a restarted server never leaves it showing
   something false. Buttons that make no sense now are disabled; the server refuses them
   anyway. Everything people read comes from the catalogue; what people typed (names) is put
   in with textContent only. */
"use strict";
(function () {
  const {data, t, api, el, ask, dialog} = window.QMS;
  const id = data.counter;
  const me = data.me.username;
  const room = "counter:" + id;
  const $ = (selector) => document.querySelector(selector);
  const services = Object.fromEntries(data.services.map((s) => [s.id, s]));
  const reasons = Object.fromEntries(data.pause_reasons.map((r) => [r.value, r.label]));
  const buttons = {};
  const keys = {};
  for (const b of document.querySelectorAll("[data-action]")) {
    buttons[b.dataset.action] = b;
    if (b.dataset.key) keys[b.dataset.key] = b;
  }

  let view = null;        // the last state read from the server
  let readAt = 0;         // performance.now() when it was read
  let online = false;
  let busy = false;       // one action at a time
  let expired = false;    // the session ended: nothing more until the officer logs in again
  let lost = null;        // {officer} when someone else took the seat or it was closed
  let leaving = false;    // this console is closing the counter or logging out itself

  // -- reading the true state ------------------------------------------------------------

  let reading = null;     // the read under way: a promise, settled once it is on screen
  let readAgain = false;
  let readTimer = null;

  async function readLoop() {
    do {
      readAgain = false;
      const r = await api("GET", `/api/counters/${id}/console`);
      if (r.status === 401) { sessionEnded(); return; }
      if (!r.ok) {
        if (r.status === 403 && !view) notHere(r.data.error || t("console_failed"));
        else if (r.status) say(r.data.error || t("console_failed"), "bad");
      } else if (!view || r.data.seq >= view.seq) {  // never step back to older news
        view = r.data;
        readAt = performance.now();
        render();
      }
    } while (readAgain);
  }

  function read() {  // one read at a time; a read asked for meanwhile follows it
    if (reading) { readAgain = true; return reading; }
    reading = readLoop().finally(() => { reading = null; });
    return reading;
  }

  function soon() {  // events come in bursts (a call changes the line too): read once
    clearTimeout(readTimer);
    readTimer = setTimeout(read, 50);
  }

  // -- showing it ---------------------------------------------------------------------------

  function serviceName(sid) {
    const s = services[sid];
    return s ? `${s.prefix} · ${s.name}` : sid;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const pad = (n) => String(n).padStart(2, "0");
    const h = Math.floor(s / 3600);
    const m = Math.floor(s / 60) % 60;
    return (h ? `${h}:${pad(m)}` : String(m)) + ":" + pad(s % 60);
  }

  const age = () => (performance.now() - readAt) / 1000;  // seconds since the last read

  function waited(seconds) {  // a wait as read, grown by the time since
    if (seconds === null || seconds === undefined) return "—";
    seconds += age();
    if (seconds < 60) return t("console_wait_under_minute");
    return t("console_wait_minutes", {n: Math.floor(seconds / 60)});
  }

  function render() {
    const c = view.counter;
    const status = $("#c-status");
    status.textContent = t("console_counter_" + c.status);
    status.className = "pill counter-" + c.status;
    $("#c-reason").textContent = c.status === "paused" && c.pause_reason
      ? (reasons[c.pause_reason] || c.pause_reason) : "";
    document.body.classList.toggle("is-paused", c.status === "paused");
    renderTicket();
    renderLines();
    renderNext();
    renderStats();
    renderSeat();
    enable();
  }

  function renderTicket() {
    const tk = view.ticket;
    $("#ticket").classList.toggle("empty", !tk);
    $("#ticket").classList.toggle("serving", !!tk && tk.status === "serving");
    $("#t-number").textContent = tk ? tk.number : "—";
    $("#t-service").textContent = tk ? serviceName(tk.service)
      : t(view.counter.status === "paused" ? "console_why_paused" : "console_no_ticket");
    $("#t-priority").hidden = !(tk && tk.priority);
    const status = $("#t-status");
    status.hidden = !tk;
    status.textContent = tk ? t("status_" + tk.status) : "";
    status.className = "pill ticket-" + (tk ? tk.status : "none");
    $("#t-timer-label").textContent = !tk ? ""
      : t(tk.status === "serving" ? "console_serving_for" : "console_called_for");
    $("#t-recalls").textContent = tk && tk.recalls
      ? t("console_recalled_times", {n: tk.recalls, limit: view.recall_limit}) : "";
    tick();
  }

  function tick() {
    const tk = view && view.ticket;
    $("#t-timer").textContent = tk ? clock(tk.elapsed_s + age()) : "";
  }

  let ticks = 0;
  function everySecond() {  // timers run between reads; waits are redrawn twice a minute
    tick();
    ticks += 1;
    if (view && ticks % 30 === 0) { renderLines(); renderNext(); }
  }

  function renderLines() {
    const rows = view.waiting.filter((w) => w.service || w.waiting).map((w) => el("tr",
      {class: w.waiting ? "" : "idle"},
      el("th", {scope: "row", text: w.service ? `${w.prefix} · ${w.name}`
                                              : t("console_sent_here")}),
      el("td", {class: "num"}, String(w.waiting),
         w.priority ? el("span", {class: "prio", title: t("console_priority"),
                                  text: ` ★${w.priority}`}) : ""),
      el("td", {class: "num", text: w.waiting ? waited(w.longest_wait_s) : "—"})));
    $("#lines tbody").replaceChildren(...rows);
    const total = view.waiting.reduce((sum, w) => sum + w.waiting, 0);
    $("#w-total").textContent = t("console_total", {n: total});
  }

  function renderNext() {
    const items = view.next.map((n) => el("li", {class: n.priority ? "prio" : ""},
      el("span", {class: "up-number", text: n.number}),
      n.priority ? el("span", {class: "up-mark", title: t("console_priority"), text: "★"}) : "",
      n.sent_here ? el("span", {class: "up-mark", title: t("console_sent_here"), text: "→"}) : "",
      el("span", {class: "up-wait", text: waited(n.waited_s)})));
    $("#next-list").replaceChildren(...items);
    $("#next-empty").hidden = items.length > 0;
  }

  function renderStats() {
    const s = view.stats;
    $("#s-served").textContent = String(s.served);
    $("#s-avg").textContent = s.service_avg_s === null ? "—" : clock(s.service_avg_s);
    $("#s-no-show").textContent = String(s.no_show);
    $("#s-transferred").textContent = String(s.transferred);
  }

  function renderSeat() {
    const c = view.counter;
    if (view.seated) lost = null;
    $("#seat").hidden = view.seated;
    document.body.classList.toggle("not-seated", !view.seated);
    if (view.seated) return;
    let text;
    if (lost && lost.officer) text = t("console_taken_over", {officer: lost.officer});
    else if (lost) text = t("console_seat_ended");
    else if (c.officer) text = t("console_held_by", {officer: c.officer});
    else text = t("console_closed_hint");
    $("#seat-text").textContent = text;
    buttons.open.hidden = !!c.officer;
    buttons.take.hidden = !(c.officer && data.me.role !== "officer");
  }

  function notHere(text) {  // a counter this officer may not sit at: nothing to show of it
    $("#seat").hidden = false;
    document.body.classList.add("not-seated");
    $("#seat-text").textContent = text;
    buttons.open.hidden = true;
    buttons.take.hidden = true;
    $("#next-empty").hidden = true;  // its line is not known, not empty
  }

  function enable() {
    const c = view && view.counter;
    const tk = view && view.ticket;
    const can = !!view && view.seated && online && !expired && !busy;
    const open = can && c.status === "open";
    const called = can && !!tk && tk.status === "called";
    const serving = can && !!tk && tk.status === "serving";
    const on = {
      next: open, call: open && !tk, recall: called && tk.recalls < view.recall_limit,
      serve: called, complete: serving, noshow: called, requeue: called,
      transfer: called || serving, pause: can && c.status !== "closed", close: can,
      open: !!view && online && !expired && !busy, take: !!view && online && !expired && !busy,
      logout: !expired && !busy,
    };
    for (const [name, b] of Object.entries(buttons)) b.disabled = !on[name];
    const paused = !!c && c.status === "paused";
    $("#pause-label").hidden = paused;
    $("#resume-label").hidden = !paused;
    if (view) $("#recall-count").textContent = `${tk ? tk.recalls : 0}/${view.recall_limit}`;
  }

  /* Why a shortcut does nothing now, in words that say what to press instead. */
  function whyNot(action) {
    const c = view && view.counter;
    const tk = view && view.ticket;
    if (!online) return t("page_offline");
    if (!view || !view.seated || expired || busy) return t("console_not_now");
    const needTicket = ["recall", "serve", "complete", "noshow", "requeue", "transfer"];
    if (needTicket.includes(action) && !tk) return t("console_why_no_ticket");
    if (["next", "call"].includes(action) && c.status === "paused") {
      return t("console_why_paused");
    }
    if (action === "call" && tk) return t("console_why_ticket_in_hand", {number: tk.number});
    if (action === "recall" && tk.status === "called" && tk.recalls >= view.recall_limit) {
      return t("console_why_recall_limit", {limit: view.recall_limit});
    }
    if (action === "complete" && tk && tk.status === "called") {
      return t("console_why_serve_first");
    }
    if (["recall", "serve", "noshow", "requeue"].includes(action) && tk &&
        tk.status === "serving") {
      return t("console_why_serving", {number: tk.number});
    }
    return t("console_not_now");
  }

  function say(text, kind) {
    const box = $("#message");
    box.textContent = text;
    box.className = "message " + (kind || "ok");
  }

  // -- acting -------------------------------------------------------------------------------

  async function renewToken() {
    /* Another login in this browser replaced the session's anti-forgery token: take the
       new one, if the session is still this officer's. */
    const r = await api("GET", "/api/me");
    if (!r.ok || !r.data.user || r.data.user.username !== me) return false;
    data.csrf = r.data.csrf_token;
    return true;
  }

  let sent = false;  // whether the action under way asked the server for anything

  async function post(path, body) {
    sent = true;
    let r = await api("POST", path, body);
    if (r.status === 403 && r.data.code === "csrf_failed" && await renewToken()) {
      r = await api("POST", path, body);
    }
    if (r.status === 401) { sessionEnded(); return null; }
    if (!r.ok) { say(r.data.error || t("console_failed"), "bad"); return null; }
    return r.data;
  }

  const act = (action, body) => post(`/api/counters/${id}/${action}`, body);

  async function run(name) {
    if (busy || expired) return;
    busy = true;  // buttons are off until the server answered: no double call
    document.body.classList.add("is-busy");
    if (view) enable();
    sent = false;
    try {
      await actions[name]();
    } finally {
      try {
        // After a change, still busy until the new state is on screen: a second press
        // meanwhile would act on the old one (a slow network answers the action well
        // before the read). A read that hangs on a dead network does not hold the buttons
        // for long; a dialog cancelled changed nothing and holds nothing.
        const reread = leaving ? null : read();
        const patience = new Promise((ok) => setTimeout(ok, 3000));
        if (reread && sent) await Promise.race([reread, patience]);
      } finally {
        busy = false;
        document.body.classList.remove("is-busy");
        if (view) enable();
      }
    }
  }

  const current = () => view && view.ticket;

  /* The transfer list says which places no open counter serves right now: the officer may
     still send the visitor there (a counter may be about to open), knowingly. */
  const warnTarget = () => {
    const select = $("#transfer-target");
    const option = select.options[select.selectedIndex];
    $("#transfer-warning").hidden = !(option && option.dataset.idle === "1");
  };

  let marking = 0;  // the newest reading of the counters; older answers are dropped

  async function markTargets(select) {
    if (!select.dataset.watched) {
      select.dataset.watched = "1";
      select.addEventListener("change", warnTarget);
    }
    setMarks(select, new Map());  // nothing stale meanwhile, nor if the reading fails
    const round = ++marking;
    const ctr = await api("GET", "/api/counters");
    if (!ctr.ok || round !== marking || !$("#transfer-dialog").open) return;
    const idle = new Map();
    for (const s of data.services) idle.set("service:" + s.id, "console_target_no_counter");
    for (const c of ctr.data.counters) {
      idle.set("counter:" + c.id, c.status === "open" ? null
        : c.status === "paused" ? "console_target_paused" : "console_target_closed");
      if (c.status === "open") for (const s of c.services) idle.set("service:" + s, null);
    }
    setMarks(select, idle);
  }

  function setMarks(select, idle) {
    for (const option of select.options) {
      if (!option.dataset.label) option.dataset.label = option.textContent;
      const why = idle.get(option.value);
      option.dataset.idle = why ? "1" : "0";
      option.textContent = option.dataset.label + (why ? " — " + t(why) : "");
    }
    warnTarget();
  }

  const actions = {
    async next() {
      const tk = current();
      if (tk) {  // the server refuses a call while a ticket is in hand: finish it first?
        const serving = tk.status === "serving";
        const question = serving ? "console_confirm_complete_next" : "console_confirm_no_show_next";
        if (!await ask(t(question, {number: tk.number}))) return;
        if (!await act(serving ? "complete" : "no-show")) return;
      }
      const r = await act("next");
      if (r && r.ticket) say(t("console_said_called", {number: r.ticket.number}));
      else if (r) say(t("console_none_waiting"), "warn");
    },
    async recall() {
      const r = await act("recall");
      if (r) say(t("console_said_recalled", {number: r.ticket.number, n: r.ticket.recalls,
                                              limit: view.recall_limit}));
    },
    async serve() {
      const r = await act("serve");
      if (r) say(t("console_said_serving", {number: r.ticket.number}));
    },
    async complete() {
      const r = await act("complete");
      if (r) say(t("console_said_completed", {number: r.ticket.number}));
    },
    async noshow() {
      const tk = current();
      if (!tk || !await ask(t("console_confirm_no_show", {number: tk.number}))) return;
      const r = await act("no-show");
      if (r) say(t("console_said_no_show", {number: r.ticket.number}));
    },
    async requeue() {
      const r = await act("requeue");
      if (r) say(t("console_said_requeued", {number: r.ticket.number}));
    },
    async transfer() {
      const tk = current();
      if (!tk) return;
      const select = $("#transfer-target");
      const form = await dialog($("#transfer-dialog"), () => {
        $("#transfer-number").textContent = tk.number;
        select.value = "";  // nothing chosen: Enter alone sends nobody anywhere
        markTargets(select);
      });
      if (!form) return;
      const [kind, target] = form.get("target").split(":");
      const body = kind === "service" ? {service: target} : {counter: Number(target)};
      body.placement = form.get("placement");
      const option = select.options[select.selectedIndex];
      const label = option.dataset.label || option.textContent;
      const r = await act("transfer", body);
      if (r) say(t("console_said_transferred", {number: r.ticket.number, target: label}));
    },
    async call() {
      const form = await dialog($("#call-dialog"), (f) => { f.reset(); });
      if (!form) return;
      const number = String(form.get("number")).trim().toUpperCase();
      const r = number ? await act("call", {number}) : null;
      if (r) say(t("console_said_called", {number: r.ticket.number}));
    },
    async pause() {
      if (view.counter.status === "paused") {
        if (await act("resume")) say(t("console_said_resumed"));
        return;
      }
      const tk = current();
      // The visitor in hand would see "paused" above the counter: ask once.
      if (tk && !await ask(t("console_confirm_pause", {number: tk.number}))) return;
      const form = await dialog($("#pause-dialog"));
      if (!form) return;
      const reason = form.get("reason") || "";
      if (await act("pause", {reason})) say(t("console_said_paused"));
    },
    async close() {
      const tk = current();
      if (tk && !await ask(t("console_confirm_close", {number: tk.number}))) return;
      leaving = true;
      if (await act("close", {force: !!tk})) location.assign("/counter");
      else leaving = false;
    },
    async logout() {
      const tk = current();
      if (tk && view.seated && !await ask(t("console_confirm_logout", {number: tk.number}))) {
        return;
      }
      leaving = true;
      if (await post("/api/logout")) location.assign("/counter/login");
      else leaving = false;
    },
    async open() {
      if (await act("open")) { lost = null; join(); }
    },
    async take() {
      const officer = view.counter.officer;
      if (!await ask(t("console_confirm_take_over", {officer}))) return;
      if (await act("open")) { lost = null; join(); }
    },
  };

  for (const [name, b] of Object.entries(buttons)) {
    b.addEventListener("click", () => run(name));
  }

  /* One hand on the keyboard: the letter shown on each button; nothing while a dialog is
     open or a field has the focus, no held-down repeats, no Ctrl/Alt/Meta combinations. */
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || e.isComposing) return;
    if (document.querySelector("dialog[open]")) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName)) return;
    const b = keys[e.key.toLowerCase()];
    if (!b) return;
    e.preventDefault();
    if (busy) return;  // the previous action is still on its way
    if (b.disabled) say(whyNot(b.dataset.action), "warn");
    else run(b.dataset.action);
  });

  // -- the session and the seat ---------------------------------------------------------

  function sessionEnded() {
    if (expired) return;
    expired = true;
    if (view) enable();
    const box = $("#expired");
    box.addEventListener("cancel", (e) => e.preventDefault());  // only way out: log in
    box.showModal();
  }

  function counterChanged(p) {
    if (p.counter !== id) return;
    if (p.previous_officer === me && p.officer !== me && !leaving) {
      lost = {officer: p.officer};  // taken over by a supervisor, or closed at day's end
    }
    soon();
  }

  // -- live ------------------------------------------------------------------------------

  const handlers = {
    snapshot: read,
    online(on) {
      online = on;
      document.body.classList.toggle("is-stale", !on);
      if (on) read(); else if (view) enable();
    },
    refused(_room, ack) {
      if (ack.code === "login_required") sessionEnded(); else read();
    },
    counter_changed: counterChanged,
    day_reset() { join(); read(); },
  };
  for (const name of ["ticket_called", "ticket_recalled", "ticket_serving", "ticket_completed",
                      "ticket_no_show", "ticket_requeued", "ticket_cancelled",
                      "ticket_transferred", "queue_changed"]) {
    handlers[name] = soon;
  }
  const socket = QMS.live(() => [room], handlers);

  function join() {  // after opening or taking over: the room was closed to this socket
    socket.emit("join", {room}, (ack) => {
      if (ack && ack.ok === false) handlers.refused(room, ack);
    });
  }

  setInterval(everySecond, 1000);
  read();
})();

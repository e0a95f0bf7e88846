/* Hall display: the newest call in the spotlight, the last calls, waiting counts, clock and
   ticker; the zone's speaking display plays chime + voice for each call, one after another. */
"use strict";
(function () {
  const {data, t, live, el} = QMS;
  const room = data.zone ? "display:" + data.zone : "display";
  const audio = document.getElementById("voice");
  const state = {calls: [], waiting: {}, seq: 0, speaking: false, queue: [], playing: false,
                 page: 0, pages: 1};
  const PAGE_S = 8;  // the waiting counts that do not fit turn over, a page at a time
  // Read by the browser tests: what was played, when, and whether it played to its end.
  window.QMS_DISPLAY = {played: [], state, nextPage};
  let socket = null;
  let spotTimer = null;
  let stopSound = null;

  function counterName(id) {
    const c = data.counters[id];
    return c ? c.name : t("display_counter_n", {counter: id});
  }

  function tick() {
    const now = new Date();
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: data.timezone, weekday: "short", day: "2-digit", month: "2-digit",
      year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).formatToParts(now).reduce((acc, p) => (acc[p.type] = p.value, acc), {});
    const weekdays = {Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 0};
    document.getElementById("date").textContent = t("display_date", {
      weekday: t("display_weekday_" + weekdays[parts.weekday]),
      day: parts.day, month: parts.month, year: parts.year});
    document.getElementById("clock").textContent =
      `${parts.hour}:${parts.minute}:${parts.second}`;
  }

  function renderCalls() {
    const body = document.getElementById("calls");
    body.replaceChildren(...state.calls.slice(0, data.recent_calls).map((c, i) =>
      el("tr", {class: i === 0 ? "first" : ""},
         el("td", {text: c.number}), el("td", {text: counterName(c.counter)}))));
  }

  function spotlight(call, fresh) {
    const box = document.getElementById("spotlight");
    const number = document.getElementById("spot-number");
    number.textContent = call ? call.number : "—";
    QMS_FIT(number);
    document.getElementById("spot-where").textContent = call ?
      t("display_go_to", {counter: counterName(call.counter), zone: call.zone}) : "";
    document.getElementById("spot-subtitle").textContent = (call && call.announcement) || "";
    box.classList.toggle("fresh", Boolean(fresh));
    clearTimeout(spotTimer);
    if (fresh) spotTimer = setTimeout(() => box.classList.remove("fresh"),
                                      data.spotlight_s * 1000);
  }

  // In a stable order (by prefix), so that turning the pages shows every service once.
  function renderWaiting() {
    const prefix = (w) => (data.services[w.service] || {prefix: w.service}).prefix;
    const rows = Object.values(state.waiting).filter((w) => w.waiting > 0)
      .sort((a, b) => prefix(a).localeCompare(prefix(b)));
    const list = document.getElementById("waiting");
    if (!rows.length) {
      list.replaceChildren(el("span", {class: "wait-chip", text: t("display_nobody_waiting")}));
    } else {
      list.replaceChildren(...rows.map((w) => {
        const s = data.services[w.service] || {prefix: "", name: w.service};
        return el("span", {class: "wait-chip"}, `${s.prefix} · ${s.name}`,
                  el("b", {text: String(w.waiting)}));
      }));
    }
    showPage();
  }

  // The chips flow in rows; those rows that fit the band make a page. Hiding whole rows
  // keeps the others' line breaks, so a page always shows the same chips.
  function showPage() {
    const list = document.getElementById("waiting");
    const chips = [...list.children];
    for (const chip of chips) chip.hidden = false;
    const bottom = list.getBoundingClientRect().top + list.clientHeight + 1;
    const boxes = chips.map((c) => c.getBoundingClientRect());
    const lines = [...new Set(boxes.map((b) => Math.round(b.top)))].sort((a, b) => a - b);
    const inside = lines.filter((top) => boxes.every((b) => Math.round(b.top) !== top ||
                                                            b.bottom <= bottom));
    const fit = Math.max(1, inside.length);
    state.pages = Math.max(1, Math.ceil(lines.length / fit));
    list.classList.toggle("paged", state.pages > 1);
    state.page %= state.pages;
    const shown = lines.slice(state.page * fit, (state.page + 1) * fit);
    chips.forEach((c, i) => { c.hidden = !shown.includes(Math.round(boxes[i].top)); });
    document.getElementById("waiting-page").textContent =
      state.pages > 1 ? `${state.page + 1}/${state.pages}` : "";
  }

  function nextPage() {
    if (state.pages < 2) return;
    state.page = (state.page + 1) % state.pages;
    showPage();
  }

  function ticker() {
    if (!data.notices.length) return;
    const text = data.notices.join("   •   ");
    const box = document.getElementById("ticker-text");
    box.textContent = text;
    box.style.setProperty("--ticker-s", Math.max(15, text.length / 6) + "s");
    document.getElementById("ticker").hidden = false;
  }

  // -- sound: one queue, never two announcements at once ---------------------------------

  // The browser refused to play without a click: say so, for whoever sets the TV up.
  function showBlocked(on) {
    const box = document.getElementById("sound-blocked");
    if (box) box.hidden = !on;
  }

  function playNext() {
    if (state.playing || !state.queue.length) return;
    state.playing = true;
    const item = state.queue.shift();
    const sources = [];
    if (data.chime) sources.push("/audio/chime.wav");
    if (item.url) sources.push(item.url);
    playEach(sources, item.number, () => { state.playing = false; playNext(); });
  }

  function playEach(sources, number, done) {
    stopSound = null;
    if (!sources.length) { done(); return; }
    const src = sources.shift();
    const entry = {src, number, start: performance.now(), end: null, ok: false};
    window.QMS_DISPLAY.played.push(entry);
    let over = false;
    const finish = (ok) => {
      if (over) return;
      over = true;
      clearTimeout(guard);
      entry.end = performance.now();
      entry.ok = ok;
      audio.onended = audio.onerror = null;
      playEach(sources, number, done);
    };
    const guard = setTimeout(() => finish(false), 30000);  // a stuck file never blocks the hall
    stopSound = () => { sources.length = 0; audio.pause(); finish(false); };
    audio.onended = () => finish(true);
    audio.onerror = () => finish(false);
    audio.src = src;
    audio.play().then(() => showBlocked(false)).catch((err) => {
      if (err && err.name === "NotAllowedError") showBlocked(true);
      finish(false);
    });
  }

  // -- live state ----------------------------------------------------------------------------

  function onCall(p) {
    if (p.seq && p.seq <= state.seq) return;  // already in the snapshot
    // A zone shows the calls of its counters, and of its services called from elsewhere.
    if (data.zone && p.zone !== data.zone && p.service_zone !== data.zone) return;
    const call = {number: p.number, counter: p.counter, zone: p.zone, called_at: p.called_at,
                  announcement: p.announcement};
    // A recall moves the number back to the top instead of listing it twice.
    state.calls = [call, ...state.calls.filter((c) => c.number !== call.number)]
      .slice(0, data.recent_calls);
    renderCalls();
    spotlight(call, true);
    if (state.speaking) { state.queue.push({number: p.number, url: p.audio_url}); playNext(); }
  }

  function join() {
    socket.emit("join", {room});
  }

  // Another display now speaks for the zone: what this one still had to say is its to say.
  function setSpeaking(on) {
    state.speaking = on;
    document.body.classList.toggle("is-speaker", on);
    if (!on) {
      state.queue.length = 0;
      if (stopSound) stopSound();
    }
  }

  function claimSpeaker() {
    socket.emit("speaker", {zone: data.zone, name: data.name, sound: data.sound},
                (ack) => setSpeaking(Boolean(ack && ack.speaking)));
  }

  socket = live(() => [room], {
    snapshot(s) {
      if (s.room !== room) return;
      state.seq = s.seq;
      state.calls = s.calls;
      state.waiting = {};
      for (const w of s.waiting) state.waiting[w.service] = w;
      renderCalls();
      renderWaiting();
      if (!document.getElementById("spotlight").classList.contains("fresh")) {
        spotlight(s.calls[0], false);
      }
    },
    ticket_called: onCall,
    ticket_recalled: onCall,
    queue_changed(p) {
      if (p.seq && p.seq <= state.seq) return;
      if (data.zone && p.zone !== data.zone) return;
      state.waiting[p.service] = {service: p.service, waiting: p.waiting};
      renderWaiting();
    },
    day_reset: join,
    speaker(p) { setSpeaking(Boolean(p.speaking)); },
    online(on) { if (on) claimSpeaker(); },
  });
  tick();
  setInterval(tick, 1000);
  setInterval(nextPage, PAGE_S * 1000);
  ticker();
  // The vendored font changes the widths: measure the number and the rows again with it.
  document.fonts.ready.then(() => {
    QMS_FIT(document.getElementById("spot-number"));
    showPage();
  });
})();

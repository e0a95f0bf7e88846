/* The ticket kiosk: departments, then their services (lĩnh vực), then the confirmation with
   the number and its QR. Touch first: one tap gives one ticket however fast the finger (every
   service button is locked from the first pointerdown until the answer, and each new screen
   ignores touches for a moment, so the second half of a double tap lands nowhere). Names from
   the config go in with textContent only. Live counts come from the `kiosk` room; when the
   server is gone the kiosk says so, refuses to issue, and recovers by itself. */
"use strict";
(function () {
  const Q = window.QMS;
  const D = Q.data;
  const el = Q.el;
  const t = Q.t;
  const $ = (id) => document.getElementById(id);

  const HOME_LANG = D.lang;
  const SETTLE_MS = 450; // a new screen ignores touches this long
  const DONE_SETTLE_MS = 1200; // the confirmation longer: its "Done" sits where fingers were
  const REPEAT_MS = 600; // a toggle (language, priority) ignores a second tap this soon
  const IDLE_MS = Math.max(45, 3 * D.return_after_s) * 1000;
  const ISSUE_TIMEOUT_MS = 6000; // one attempt; a lost answer is asked again, same key
  const ISSUE_ATTEMPTS = 3;
  const RETRY_PAUSE_MS = 1500;
  const REFRESH_MS = 60000; // issuing hours open and close with the clock, not with an event

  const services = new Map(D.services.map((s) => [s.id, {...s}]));
  const departments = D.departments.map((d) => ({
    ...d, services: [...services.values()].filter((s) => s.department === d.id)}));
  const single = departments.length === 1; // a zone kiosk of one department opens on its list
  const live = new Map(); // service id -> {waiting, estimated_wait_s, open, closed_reason, seq}
  const prints = new Map(); // ticket number -> print news that may come before the answer

  const ui = {
    screen: "start", department: null, priority: false, online: true, press: null,
    issuing: false, ticket: null, print: "none", device: null, remaining: 0, timer: null,
    lastTouch: Date.now(),
  };

  const pagers = {
    start: makePager("k-departments", "k-departments-pager"),
    services: makePager("k-services", "k-services-pager"),
  };
  const screens = {start: $("k-start"), services: $("k-services-screen"), done: $("k-done")};

  // -- words ---------------------------------------------------------------------------

  const nameOf = (thing) => thing.name[D.lang] || thing.name.vi || "";

  function zoneLabel(zoneId) {
    const zone = D.zones[zoneId];
    if (!zone) return t("kiosk_zone", {zone: zoneId});
    const name = (zone.name && (zone.name[D.lang] || zone.name.vi)) ||
      t("kiosk_zone", {zone: zoneId});
    return name + ", " + t("kiosk_floor", {floor: zone.floor});
  }

  function countersLabel(ids, bare) {
    if (!ids.length) return "";
    const sorted = [...ids].sort((a, b) => a - b);
    const parts = [];
    let start = sorted[0];
    let prev = start;
    for (const id of sorted.slice(1).concat([null])) {
      if (id === prev + 1) { prev = id; continue; }
      parts.push(start === prev ? String(start) : prev === start + 1 ? start + ", " + prev
        : start + "–" + prev);
      start = prev = id;
    }
    if (bare) return parts.join(", ");
    return t(ids.length > 1 ? "kiosk_counter_many" : "kiosk_counter_one",
             {list: parts.join(", ")});
  }

  function whereLabel(s, ticket) {
    // Each group of counters with its own zone ("Quầy 1–11 · Khu A"); a priority ticket
    // names the priority counter(s) first.
    const places = ticket.priority ? s.places_priority : s.places;
    if (!places || !places.length) return zoneLabel(ticket.zone || s.zone);
    return places.map((g) => {
      const counters = g.priority ? t("kiosk_counter_priority", {list: countersLabel(g.counters,
        true)}) : countersLabel(g.counters);
      return counters + " · " + zoneLabel(g.zone);
    }).join("; ");
  }

  function serviceStatus(s) {
    const line = live.get(s.id);
    if (!line) return "";
    if (!line.open) {
      const id = "kiosk_closed_" + line.closed_reason;
      return D.messages[id] ? t(id) : t("kiosk_closed");
    }
    if (!line.waiting) return t("kiosk_no_wait");
    return t("kiosk_waiting", {n: line.waiting, wait: Q.minutes(line.estimated_wait_s)});
  }

  // -- live state ----------------------------------------------------------------------

  function applyRow(row, seq) {
    const current = live.get(row.id);
    if (!services.has(row.id) || (current && seq < current.seq)) return;
    live.set(row.id, {waiting: row.waiting, estimated_wait_s: row.estimated_wait_s,
                      open: row.open, closed_reason: row.closed_reason, seq});
  }

  function applySnapshot(state) {
    const seq = state.seq || 0;
    const seen = new Set();
    for (const row of state.services) {
      seen.add(row.id);
      applyRow(row, seq);
    }
    const missing = [...services.keys()].some((id) => !seen.has(id));
    if (missing && pristine()) { location.reload(); return; } // the center was reconfigured
    updateAll();
  }

  function applyLine(event) {
    const line = live.get(event.service);
    if (!line || (event.seq || 0) < line.seq) return;
    line.waiting = event.waiting;
    line.estimated_wait_s = event.estimated_wait_s;
    line.seq = event.seq || line.seq;
    updateAll();
  }

  // -- tiles ---------------------------------------------------------------------------

  function departmentTile(d) {
    d.meta = el("span", {class: "k-meta"});
    d.tile = el("button", {type: "button", class: "k-tile k-dept"},
                el("span", {class: "k-name", text: nameOf(d)}), d.meta);
    d.tile.dataset.department = d.id;
    d.tile.addEventListener("click", () => {
      if (ui.screen === "start" && !ui.issuing) openDepartment(d);
    });
    return d.tile;
  }

  function serviceTile(s) {
    s.meta = el("span", {class: "k-meta"});
    s.tile = el("button", {type: "button", class: "k-tile k-service"},
                el("span", {class: "k-name", text: nameOf(s)}), s.meta);
    s.tile.dataset.service = s.id;
    s.tile.addEventListener("pointerdown", (ev) => pressStart(ev, s));
    s.tile.addEventListener("pointerup", (ev) => pressEnd(ev, s));
    s.tile.addEventListener("pointercancel", (ev) => pressCancel(ev));
    s.tile.addEventListener("click", (ev) => {
      if (ev.detail === 0 && canIssue(s)) issue(s); // a keyboard or a screen reader
    });
    return s.tile;
  }

  function updateDepartment(d) {
    if (!d.tile) return;
    const open = d.services.some((s) => live.get(s.id) && live.get(s.id).open);
    const waiting = d.services.reduce((n, s) => n + ((live.get(s.id) || {}).waiting || 0), 0);
    d.meta.textContent = open ? t("kiosk_dept_waiting", {n: waiting}) : t("kiosk_closed");
    d.tile.classList.toggle("k-closed", !open);
    d.tile.disabled = !ui.online;
  }

  function updateService(s) {
    if (!s.tile) return;
    const line = live.get(s.id);
    const open = Boolean(line && line.open);
    if (!s.tile.classList.contains("k-issuing")) s.meta.textContent = serviceStatus(s);
    s.tile.classList.toggle("k-closed", !open);
    s.tile.setAttribute("aria-disabled", String(!open));
    const pressed = ui.press && ui.press.s === s;
    s.tile.disabled = !open || !ui.online || ui.issuing || (Boolean(ui.press) && !pressed);
  }

  function updateAll() {
    for (const d of departments) updateDepartment(d);
    for (const s of services.values()) updateService(s);
    refit();
  }

  // -- pages of tiles: what does not fit goes on a next page, never under a scrollbar ----

  function makePager(listId, navId) {
    const nav = $(navId);
    const pager = {list: $(listId), nav, nodes: [], pages: [[0, 0]], page: 0};
    nav.querySelector(".k-page-prev").addEventListener("click", () => turn(pager, -1));
    nav.querySelector(".k-page-next").addEventListener("click", () => turn(pager, 1));
    return pager;
  }

  function measure(list, nodes) {
    list.replaceChildren();
    const pages = [];
    let start = 0;
    nodes.forEach((node, i) => {
      list.append(node);
      if (i > start && list.scrollHeight > list.clientHeight + 1) {
        pages.push([start, i]);
        start = i;
        list.replaceChildren(node);
      }
    });
    pages.push([start, nodes.length]);
    return pages;
  }

  function paginate(pager, nodes, keepPage) {
    pager.nodes = nodes;
    pager.nav.hidden = true;
    pager.list.classList.remove("k-fill");
    pager.pages = measure(pager.list, nodes);
    if (pager.pages.length > 1) {
      pager.nav.hidden = false;
      pager.pages = measure(pager.list, nodes);
    }
    pager.page = keepPage ? Math.min(pager.page, pager.pages.length - 1) : 0;
    showPage(pager);
  }

  function showPage(pager) {
    const [from, to] = pager.pages[pager.page];
    pager.list.replaceChildren(...pager.nodes.slice(from, to));
    // A full page spreads its tiles over the screen; two or three tiles keep their size.
    const columns = getComputedStyle(pager.list).gridTemplateColumns.split(" ").length;
    pager.list.classList.toggle("k-fill", pager.pages.length > 1 ||
                                Math.ceil((to - from) / columns) >= 4);
    const last = pager.pages.length - 1;
    pager.nav.querySelector(".k-page-of").textContent =
      t("kiosk_page", {n: pager.page + 1, total: last + 1});
    pager.nav.querySelector(".k-page-prev").disabled = pager.page === 0;
    pager.nav.querySelector(".k-page-next").disabled = pager.page === last;
  }

  function turn(pager, step) {
    if (ui.press || ui.issuing) return;
    pager.page = Math.max(0, Math.min(pager.pages.length - 1, pager.page + step));
    showPage(pager);
    settle(pager.list, SETTLE_MS);
  }

  function visiblePager() {
    return ui.screen === "done" ? null : pagers[ui.screen];
  }

  function refit(force) {
    // Counts that grow a tile by a line may push the last one out: lay the pages out again.
    const pager = visiblePager();
    if (!pager || ui.press || ui.issuing) return;
    if (force || pager.list.scrollHeight > pager.list.clientHeight + 1) {
      paginate(pager, pager.nodes, true);
    }
  }

  // -- screens -------------------------------------------------------------------------

  function settle(node, ms) {
    node.classList.add("k-settling");
    clearTimeout(node.settleTimer);
    node.settleTimer = setTimeout(() => node.classList.remove("k-settling"), ms);
  }

  function show(name) {
    for (const [key, node] of Object.entries(screens)) node.hidden = key !== name;
    ui.screen = name;
    settle(screens[name], name === "done" ? DONE_SETTLE_MS : SETTLE_MS);
    renderChrome();
  }

  function renderChrome() {
    const home = ui.screen === "start" || (single && ui.screen === "services");
    const priority = $("k-priority");
    priority.hidden = !(D.priority && home);
    priority.classList.toggle("k-on", ui.priority);
    priority.setAttribute("aria-pressed", String(ui.priority));
    $("k-priority-hint").textContent = t(ui.priority ? "kiosk_priority_cancel"
      : "kiosk_priority_hint");
    $("k-priority-on").hidden = !(ui.priority && !home && ui.screen !== "done");
    $("k-back").hidden = single;
    $("k-offline").hidden = ui.online || ui.screen === "done";
  }

  function showStart() {
    if (single) { openDepartment(departments[0]); return; }
    show("start");
    paginate(pagers.start, departments.map(departmentTile));
    updateAll();
  }

  function openDepartment(d) {
    ui.department = d;
    $("k-department").textContent = nameOf(d);
    show("services");
    paginate(pagers.services, d.services.map(serviceTile));
    updateAll();
  }

  function pristine() {
    return !ui.priority && !ui.issuing && !ui.press && !ui.ticket && D.lang === HOME_LANG &&
      (ui.screen === "start" || (single && ui.screen === "services")) &&
      (visiblePager() || {page: 0}).page === 0 && $("k-error").hidden;
  }

  function goHome() {
    clearInterval(ui.timer);
    clearTimeout(ui.printTimer);
    ui.timer = null;
    ui.ticket = null;
    ui.priority = false;
    $("k-error").hidden = true;
    if (D.lang !== HOME_LANG) setLang(HOME_LANG);
    showStart();
    refresh();
  }

  // -- one tap, one ticket -------------------------------------------------------------

  function canIssue(s) {
    const line = live.get(s.id);
    return ui.online && !ui.issuing && !ui.press && ui.screen === "services" &&
      Boolean(line && line.open) && $("k-error").hidden &&
      !s.tile.closest(".k-settling");
  }

  function pressStart(ev, s) {
    if (!ev.isPrimary || !canIssue(s)) return;
    ev.preventDefault();
    try { s.tile.setPointerCapture(ev.pointerId); } catch (err) { /* synthetic pointer */ }
    ui.press = {s, pointerId: ev.pointerId};
    s.tile.classList.add("k-pressed");
    updateAll();
  }

  function pressEnd(ev, s) {
    const press = ui.press;
    if (!press || press.s !== s || press.pointerId !== ev.pointerId) return;
    ui.press = null;
    s.tile.classList.remove("k-pressed");
    const r = s.tile.getBoundingClientRect();
    const inside = ev.clientX >= r.left && ev.clientX <= r.right &&
      ev.clientY >= r.top && ev.clientY <= r.bottom;
    if (inside && ui.online) issue(s); // a finger that slid off the tile takes nothing
    else updateAll();
  }

  function pressCancel(ev) {
    if (!ui.press || ui.press.pointerId !== ev.pointerId) return;
    ui.press.s.tile.classList.remove("k-pressed");
    ui.press = null;
    updateAll();
  }

  function requestId() {
    // One key per tap: the server answers a retry of it with the same ticket.
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function postTicketSurely(body) {
    // The network may lose the request or its answer: ask again with the same request_id
    // (never a second ticket), while the server cannot be reached or is restarting.
    let answer;
    for (let attempt = 1; attempt <= ISSUE_ATTEMPTS; attempt += 1) {
      answer = await postTicket(body);
      if (answer.status !== 0 && answer.status < 500) return answer;
      if (attempt < ISSUE_ATTEMPTS) await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
    return answer;
  }

  async function postTicket(body) {
    const headers = {"Accept": "application/json", "Content-Type": "application/json"};
    if (D.secret) headers["X-Kiosk-Secret"] = D.secret;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ISSUE_TIMEOUT_MS);
    try {
      const response = await fetch("/api/tickets?lang=" + D.lang, {
        method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin",
        signal: abort.signal});
      let payload = null;
      try { payload = await response.json(); } catch (err) { payload = null; }
      if (response.ok && !(payload && payload.number && payload.token)) {
        // The answer was cut off on its way: as good as lost, ask again with the same key.
        return {ok: false, status: 0, data: {error: t("kiosk_error_offline")}};
      }
      return {ok: response.ok, status: response.status, data: payload || {}};
    } catch (err) {
      return {ok: false, status: 0, data: {error: t("kiosk_error_offline")}};
    } finally {
      clearTimeout(timer);
    }
  }

  async function issue(s) {
    ui.issuing = true;
    s.tile.classList.add("k-issuing");
    s.meta.textContent = t("kiosk_issuing");
    updateAll();
    const body = {service: s.id, priority: ui.priority, request_id: requestId()};
    if (D.kiosk) body.kiosk = D.kiosk;
    const answer = await postTicketSurely(body);
    ui.issuing = false;
    s.tile.classList.remove("k-issuing");
    if (answer.ok) {
      showTicket(answer.data, s);
    } else {
      updateAll();
      showError(answer.data.error || t("kiosk_error_offline"));
      refresh();
    }
  }

  // -- the confirmation ----------------------------------------------------------------

  function showTicket(ticket, s) {
    ui.ticket = {...ticket, serviceId: s.id};
    ui.device = ticket.print || null; // absent or null: no printer, the screen is the ticket
    ui.print = ui.device ? "pending" : "none";
    const early = prints.get(ticket.number);
    if (ui.device && early) printNews(early);
    clearTimeout(ui.printTimer);
    if (ui.print === "pending") {
      ui.printTimer = setTimeout(() => {
        if (ui.print !== "pending") return;
        ui.print = "unknown";
        renderPrint();
      }, D.print_patience_s * 1000);
    }
    ui.priority = false; // priority mode is for one ticket
    renderTicket();
    show("done");
    fitNumber();
    ui.remaining = Math.max(1, Math.round(D.return_after_s));
    renderCountdown();
    clearInterval(ui.timer);
    ui.timer = setInterval(() => {
      ui.remaining -= 1;
      if (ui.remaining <= 0) goHome();
      else renderCountdown();
    }, 1000);
  }

  function renderTicket() {
    const ticket = ui.ticket;
    const s = services.get(ticket.serviceId);
    $("k-number").textContent = ticket.number;
    $("k-badge").hidden = !ticket.priority;
    $("k-service-name").textContent = nameOf(s);
    $("k-go-where").textContent = whereLabel(s, ticket);
    const ahead = Math.max(0, (ticket.position || 1) - 1);
    $("k-ahead").textContent = ahead === 0 ? t("kiosk_ahead_none")
      : t("kiosk_ahead", {n: ahead}) + " · " +
        t("kiosk_wait", {wait: Q.minutes(ticket.estimated_wait_s)});
    const qr = $("k-qr");
    const src = "/kiosk/qr/" + encodeURIComponent(ticket.token) + ".svg";
    if (qr.getAttribute("src") !== src) qr.src = src;
    qr.alt = t("kiosk_qr_alt", {number: ticket.number});
    renderPrint();
  }

  function fitNumber() {
    // The number is the one thing the visitor must read: a long one ("MM1000", "ĐXA1234")
    // gets smaller rather than cut off at the edge of a portrait screen.
    const node = $("k-number");
    node.style.fontSize = "";
    if (screens.done.hidden || node.scrollWidth <= node.clientWidth) return;
    const size = parseFloat(getComputedStyle(node).fontSize);
    node.style.fontSize = Math.floor(size * node.clientWidth / node.scrollWidth) + "px";
  }

  function renderPrint() {
    const node = $("k-print");
    const ids = {none: "kiosk_print_none", pending: "kiosk_print_pending",
                 done: "kiosk_print_done", failed: "kiosk_print_failed",
                 unknown: "kiosk_print_unknown"};
    node.textContent = t(ids[ui.print]);
    node.className = "k-print k-print-" + ui.print;
  }

  function renderCountdown() {
    $("k-countdown").textContent = t("kiosk_countdown", {n: ui.remaining});
  }

  function printNews(news) {
    const ticket = ui.ticket;
    if (!ticket || !ui.device || ui.print === "done") return;
    const mine = news.number ? news.number === ticket.number : news.device === ui.device;
    if (!mine || (news.device && news.device !== ui.device)) return;
    ui.print = news.outcome;
    renderPrint();
  }

  function onPrint(outcome) {
    return (event) => {
      const news = {outcome, number: event.number || null, device: event.device || null};
      if (news.number) {
        prints.set(news.number, news);
        if (prints.size > 50) prints.delete(prints.keys().next().value);
      }
      printNews(news);
    };
  }

  function showError(text) {
    $("k-error-text").textContent = text;
    $("k-error").hidden = false;
    settle($("k-error"), SETTLE_MS);
  }

  // -- language, priority, idle --------------------------------------------------------

  function toggle(button, fn) {
    // A second tap this soon is the rest of a double tap: it must not undo the first.
    button.addEventListener("click", () => {
      if (button.classList.contains("k-settling") || ui.press || ui.issuing) return;
      settle(button, REPEAT_MS);
      fn();
    });
  }

  function setLang(code) {
    D.lang = code;
    D.messages = D.catalogues[code];
    document.documentElement.lang = code;
    document.title = t("kiosk_title");
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    $("offline").textContent = t("page_offline");
    const other = Object.keys(D.catalogues).find((c) => c !== code);
    $("k-lang").textContent = t("page_language");
    $("k-lang").lang = other;
    $("k-center").textContent = D.center[code] || D.center.vi;
    $("k-where").textContent = D.zone ? t("kiosk_where", {zone: zoneLabel(D.zone)}) : "";
    for (const d of departments) d.tile = null;
    for (const s of services.values()) s.tile = null;
    if (ui.screen === "start") paginate(pagers.start, departments.map(departmentTile));
    if (ui.screen === "services") {
      $("k-department").textContent = nameOf(ui.department);
      paginate(pagers.services, ui.department.services.map(serviceTile));
    }
    if (ui.ticket) { renderTicket(); renderCountdown(); }
    renderChrome();
    updateAll();
  }

  toggle($("k-lang"), () => setLang(Object.keys(D.catalogues).find((c) => c !== D.lang)));
  toggle($("k-priority"), () => {
    ui.priority = !ui.priority;
    renderChrome();
  });

  $("k-back").addEventListener("click", () => {
    if (!ui.press && !ui.issuing && ui.screen === "services") showStart();
  });

  $("k-done-button").addEventListener("click", () => {
    if (ui.screen === "done" && !screens.done.classList.contains("k-settling")) goHome();
  });

  $("k-error-ok").addEventListener("click", () => {
    if (!$("k-error").classList.contains("k-settling")) $("k-error").hidden = true;
  });

  document.addEventListener("pointerdown", () => { ui.lastTouch = Date.now(); }, true);
  document.addEventListener("contextmenu", (ev) => ev.preventDefault()); // long press

  setInterval(() => {
    // A visitor who walked away leaves the kiosk as the next one expects it.
    const idle = Date.now() - ui.lastTouch;
    if (ui.screen !== "done" && !ui.issuing && !ui.press && !pristine() && idle > IDLE_MS) {
      goHome();
    } else if (ui.online && pristine() && Date.now() - lastRefresh > REFRESH_MS) {
      refresh();
    }
  }, 5000);

  window.addEventListener("resize", () => {
    refit(true);
    fitNumber();
  });

  // -- the connection ------------------------------------------------------------------

  function setOnline(on) {
    ui.online = on;
    if (!on && ui.press) {
      ui.press.s.tile.classList.remove("k-pressed");
      ui.press = null;
    }
    renderChrome();
    updateAll();
  }

  let refreshTimer = null;
  let lastRefresh = Date.now();

  function refresh() {
    // Joining again sends a fresh snapshot (with its seq), the same path as a reconnect.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      lastRefresh = Date.now();
      if (socket.connected) socket.emit("join", {room: "kiosk"});
    }, 300);
  }

  const socket = Q.live(() => (D.kiosk ? ["kiosk", "kiosk:" + D.kiosk] : ["kiosk"]), {
    online: setOnline,
    snapshot: (state) => { if (Array.isArray(state.services)) applySnapshot(state); },
    queue_changed: applyLine,
    counter_changed: refresh,
    service_changed: refresh,  // a supervisor paused or resumed issuing
    day_reset: refresh,
    ticket_printed: onPrint("done"),
    device_fault: onPrint("failed"),
  });

  for (const row of D.live.services) applyRow(row, D.live.seq);
  $("k-where").textContent = D.zone ? t("kiosk_where", {zone: zoneLabel(D.zone)}) : "";
  showStart();
  if (document.fonts) document.fonts.ready.then(() => refit(true));
})();

/* The supervisors' live board. State comes from the `dashboard` room: a snapshot, then
   events. Alerts and devices arrive as their own events; any change of a line or a counter
   makes the board read /api/dashboard again (at most every 0.5 s), so every figure is the
   server's. Between changes the longest waits keep counting every second, and turn amber,
   then red, against each service's threshold. Everything typed by people is put in the
   page as text, never as HTML. */
"use strict";
(function () {
  const {data, t, api, live, el} = QMS;
  const $ = (id) => document.getElementById(id);
  let state = {services: [], counters: [], alerts: [], devices: [], amber_at: 0.75};
  let seq = -1;
  let offset = 0;            // server clock - this browser's clock, in ms
  let soundOn = true;        // browsers may block it until a click: the button says so
  let chime = null;
  let zone = "";
  let dialogService = null;

  const mins = (s) => (s === null || s === undefined) ? "—"
    : s < 60 ? t("board_under_min") : t("board_min", {n: Math.floor(s / 60)});
  const clock = (iso) => iso ? new Date(iso).toLocaleTimeString(data.lang === "vi" ? "vi-VN" : "en-GB",
    {hour: "2-digit", minute: "2-digit", timeZone: data.timezone}) : "—";
  const serviceName = (id) => (data.services[id] || {}).name || id;
  const now = () => Date.now() + offset;

  function waitOf(s) {
    return s.longest_since ? Math.max(0, (now() - Date.parse(s.longest_since)) / 1000) : null;
  }

  function levelOf(wait, sla) {
    if (!wait || sla <= 0) return "ok";
    if (wait >= sla) return "red";
    return wait >= sla * state.amber_at ? "amber" : "ok";
  }

  // -- alerts -------------------------------------------------------------------------------

  function deviceName(device) {
    /* "rate:13" -> "Máy đánh giá Quầy 13"; people read names, not ids. */
    const [kind, ...rest] = device.split(":");
    const arg = rest.join(":");
    if (kind === "rate") return t("board_dev_rate", {counter: data.counters[arg] || arg});
    if (kind === "kiosk") return t("board_dev_kiosk", {kiosk: arg});
    if (kind === "printer") return arg ? t("board_dev_printer_of", {kiosk: arg}) : t("board_dev_printer");
    if (kind === "display" && arg.startsWith("counter:")) {
      const id = arg.slice(8);
      return t("board_dev_counter_screen", {counter: data.counters[id] || id});
    }
    if (kind === "display") {
      const zone = data.zones.find((z) => z.id === arg);
      return arg ? t("board_dev_display", {zone: zone ? zone.name : arg}) : t("board_dev_display_all");
    }
    return device;
  }

  const SEVERITY = {wait: 0, unserved: 1, printer: 2, offline: 3};

  function alertText(a) {
    if (a.kind === "unserved") {
      const s = state.services.find((x) => x.id === a.subject);
      return t("board_alert_unserved", {service: serviceName(a.subject), n: s ? s.waiting : "?"});
    }
    if (a.kind === "wait") {
      const s = state.services.find((x) => x.id === a.subject);
      return t("board_alert_wait", {service: serviceName(a.subject),
        sla: mins(a.detail.sla_s), wait: s ? mins(waitOf(s)) : "—"});
    }
    if (a.kind === "printer") {
      return t("board_alert_printer", {device: deviceName(a.subject), fault: t("board_fault_" + a.detail.fault)});
    }
    return t("board_alert_offline", {device: deviceName(a.subject)});
  }

  function alertZone(a) {
    const s = state.services.find((x) => x.id === a.subject);
    return s ? s.zone : null;  // devices belong to every zone's view
  }

  function renderAlerts() {
    const list = $("b-alerts");
    const shown = state.alerts.filter((a) => !zone || !alertZone(a) || alertZone(a) === zone)
      .sort((a, b) => (SEVERITY[a.kind] - SEVERITY[b.kind]) || a.since.localeCompare(b.since));
    list.replaceChildren(...shown.map((a) => el("li", {class: "b-alert b-alert-" + a.kind, "data-alert": a.id},
      el("span", {class: "b-alert-time", text: clock(a.since)}), el("span", {class: "b-alert-text", text: alertText(a)}),
      el("button", {type: "button", class: "b-small b-dismiss", text: t("board_dismiss"),
        onclick: () => dismiss(a.id)}))));
    $("b-no-alerts").hidden = shown.length > 0;
    $("b-alert-count").textContent = shown.length ? "(" + shown.length + ")" : "";
  }

  function ring() {
    if (!soundOn) return;
    chime = chime || new Audio("/audio/chime.wav");
    chime.currentTime = 0;
    chime.play().catch(() => {
      $("b-sound").textContent = t("board_sound_blocked");
      $("b-sound").classList.add("b-blocked");
    });
  }

  // -- lines --------------------------------------------------------------------------------

  function visible(item) { return !zone || item.zone === zone; }

  function renderZones() {
    const cards = data.zones.filter((z) => !zone || z.id === zone).map((z) => {
      const lines = state.services.filter((s) => s.zone === z.id);
      const counters = state.counters.filter((c) => c.zone === z.id);
      const worst = lines.reduce((w, s) => Math.max(w, waitOf(s) || 0), 0);
      const level = lines.reduce((l, s) => {
        const v = levelOf(waitOf(s), s.sla_s);
        return v === "red" || l === "red" ? "red" : (v === "amber" || l === "amber" ? "amber" : "ok");
      }, "ok");
      const count = (st) => counters.filter((c) => c.status === st).length;
      return el("article", {class: "b-zone b-level-" + level, "data-zone": z.id},
        el("h3", {text: z.name}),
        el("div", {class: "b-zone-figures"},
          el("span", {text: t("board_zone_waiting", {n: lines.reduce((n, s) => n + s.waiting, 0)})}),
          el("span", {text: t("board_zone_longest", {wait: worst ? mins(worst) : "—"})}),
          el("span", {text: t("board_zone_counters", {open: count("open"), paused: count("paused"), closed: count("closed")})})));
    });
    $("b-zones").replaceChildren(...cards);
  }

  function actionButtons(s) {
    const pause = el("button", {type: "button", class: "b-small", "data-act": "issuing",
      text: t(s.issuing_paused ? "board_resume_issuing" : "board_pause_issuing"),
      "aria-label": t(s.issuing_paused ? "board_resume_issuing" : "board_pause_issuing") + " · " + serviceName(s.id),
      onclick: () => s.issuing_paused ? setIssuing(s, false, "") : openPause(s)});
    const move = el("button", {type: "button", class: "b-small", "data-act": "move",
      text: t("board_move"), onclick: () => openMove(s)});
    move.disabled = s.waiting === 0;
    return el("td", {class: "b-acts"}, pause, move);
  }

  function renderServices() {
    const body = $("b-services").tBodies[0];
    const rows = [];
    let department = null;
    const busyOnly = $("b-busy").checked;
    const lines = state.services.filter(visible).filter((s) =>
      !busyOnly || s.waiting > 0 || s.issuing_paused || s.served_today > 0 || s.counters_open > 0);
    for (const s of lines) {
      if (s.department !== department) {
        department = s.department;
        const mine = lines.filter((x) => x.department === department);
        rows.push(el("tr", {class: "b-dept"}, el("th", {colspan: "7", scope: "rowgroup",
          text: (data.departments[department] || department) + " · " +
            t("board_zone_waiting", {n: mine.reduce((n, x) => n + x.waiting, 0)})})));
      }
      const wait = waitOf(s);
      const level = levelOf(wait, s.sla_s);
      const name = el("td", {class: "b-name"}, el("span", {class: "b-prefix", text: s.prefix}),
        el("span", {text: " " + serviceName(s.id)}));
      if (s.issuing_paused) {
        name.append(el("span", {class: "b-tag", text: t("board_issuing_paused") +
          (s.paused_reason ? ": " + s.paused_reason : "")}));
      }
      rows.push(el("tr", {class: "b-line b-level-" + level, "data-service": s.id},
        name,
        el("td", {class: "num b-waiting", text: String(s.waiting)}),
        el("td", {class: "num b-longest", text: wait === null ? "—" : mins(wait),
          title: t("board_threshold", {n: Math.round(s.sla_s / 60)})}),
        el("td", {class: "num", text: mins(s.wait_avg_hour_s)}),
        el("td", {class: "num", text: String(s.served_today)}),
        el("td", {class: "num", text: s.counters_open + "/" + s.counters}),
        actionButtons(s)));
    }
    body.replaceChildren(...rows);
  }

  function tick() {
    /* The waits grow by themselves between events. */
    $("b-clock").textContent = clock(new Date(now()).toISOString());
    for (const row of $("b-services").querySelectorAll("tr.b-line")) {
      const s = state.services.find((x) => x.id === row.dataset.service);
      if (!s) continue;
      const wait = waitOf(s);
      row.className = "b-line b-level-" + levelOf(wait, s.sla_s);
      row.querySelector(".b-longest").textContent = wait === null ? "—" : mins(wait);
    }
    renderZones();
  }

  // -- counters -----------------------------------------------------------------------------

  function renderCounters() {
    const cards = state.counters.filter(visible).map((c) => {
      const st = c.current ? (c.current.status === "called" ? "calling" : "serving") : c.status;
      const lines = [el("div", {class: "b-c-head"}, el("strong", {text: data.counters[c.id] || String(c.id)}),
        el("span", {class: "b-pill b-pill-" + st, text: t("board_counter_" + st)}))];
      lines.push(el("div", {class: "b-c-officer", text: c.officer || t("board_nobody")}));
      if (c.current) {
        lines.push(el("div", {class: "b-c-ticket", text: t("board_counter_ticket",
          {number: c.current.number, since: clock(c.current.since)})}));
      }
      if (c.status === "paused") {
        lines.push(el("div", {class: "b-c-reason", text: t("board_paused_since",
          {reason: c.pause_reason || "—", since: clock(c.since)})}));
      }
      lines.push(el("a", {class: "b-small b-takeover", href: "/counter/" + c.id,
        text: t(c.officer ? "board_take_over" : "board_open_counter")}));
      return el("article", {class: "b-counter b-counter-" + st, "data-counter": String(c.id)}, ...lines);
    });
    $("b-counters").replaceChildren(...cards);
  }

  // -- devices ------------------------------------------------------------------------------

  function renderDevices() {
    const rows = state.devices.map((d) => {
      const st = d.fault ? "fault" : d.online === null ? "unknown" : d.online ? "online" : "offline";
      return el("tr", {class: "b-device b-device-" + st, "data-device": d.device},
        el("td", {text: deviceName(d.device), title: d.device}),
        el("td", {text: d.fault ? t("board_fault_" + d.fault) : t("board_device_" + st) +
          (d.connections > 1 ? " (" + d.connections + ")" : "")}),
        el("td", {text: d.last_contact ? clock(d.last_contact) : t("board_never")}));
    });
    $("b-devices").tBodies[0].replaceChildren(...rows);
    $("b-no-devices").hidden = rows.length > 0;
  }

  function render() {
    renderAlerts();
    renderZones();
    renderServices();
    renderCounters();
    renderDevices();
  }

  // -- reading the server ------------------------------------------------------------------

  function adopt(next) {
    offset = Date.parse(next.now) - Date.now();
    state = Object.assign({}, state, next);
    render();
  }

  let pending = null;
  let reading = false;
  function reread() {
    /* A line or a counter changed: read the board again, at most every 0.5 s. */
    if (pending) return;
    pending = setTimeout(async () => {
      if (reading) { pending = null; reread(); return; }
      reading = true;
      const answer = await api("GET", "/api/dashboard");
      reading = false;
      pending = null;
      if (answer.ok) adopt(answer.data);
      else if (answer.status === 401) location.assign("/counter/login?next=%2Fdashboard");
    }, 500);
  }

  const handlers = {
    snapshot(s) {
      if (s.seq < seq) return;
      seq = s.seq;
      adopt(s);
    },
    alert_raised(a) {
      if (!state.alerts.some((x) => x.id === a.id)) {
        state.alerts = [...state.alerts, a];
        renderAlerts();
        ring();
      }
    },
    alert_cleared(a) {
      state.alerts = state.alerts.filter((x) => x.id !== a.id);
      renderAlerts();
    },
    device_changed(d) {
      const rest = state.devices.filter((x) => x.device !== d.device);
      state.devices = [...rest, d].sort((a, b) => a.device.localeCompare(b.device));
      renderDevices();
    },
    refused(room, ack) {
      if (ack.code === "login_required") location.assign("/counter/login?next=%2Fdashboard");
    },
  };
  for (const name of ["ticket_issued", "ticket_called", "ticket_recalled", "ticket_serving",
    "ticket_completed", "ticket_no_show", "ticket_requeued", "ticket_cancelled",
    "ticket_transferred", "queue_changed", "counter_changed", "service_changed", "day_reset",
    "ticket_rated"]) {
    handlers[name] = reread;
  }
  live(() => ["dashboard"], handlers);
  setInterval(tick, 1000);

  // -- actions ------------------------------------------------------------------------------

  async function dismiss(id) {
    const answer = await api("POST", "/api/alerts/" + encodeURIComponent(id) + "/dismiss");
    if (answer.ok || answer.status === 404) {
      state.alerts = state.alerts.filter((x) => x.id !== id);
      renderAlerts();
    }
  }

  function say(text) {
    $("b-message").textContent = text;
    $("b-message").hidden = !text;
  }

  async function setIssuing(s, paused, reason) {
    const answer = await api("POST", "/api/services/" + encodeURIComponent(s.id) + "/issuing", {paused, reason});
    if (!answer.ok) {
      $("b-pause-error").textContent = answer.data.error || t("page_offline");
      $("b-pause-error").hidden = false;
      return false;
    }
    reread();
    return true;
  }

  function openPause(s) {
    dialogService = s;
    $("b-pause-title").textContent = t("board_pause_title", {service: serviceName(s.id)});
    $("b-pause-reason").value = "";
    $("b-pause-error").hidden = true;
    $("b-pause").showModal();
  }
  $("b-pause-cancel").addEventListener("click", () => $("b-pause").close());
  $("b-pause-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await setIssuing(dialogService, true, $("b-pause-reason").value.trim())) $("b-pause").close();
  });

  function openMove(s) {
    dialogService = s;
    $("b-move-title").textContent = t("board_move_title", {service: serviceName(s.id), n: s.waiting});
    const options = state.services.filter((x) => x.id !== s.id && x.counters > 0).map((x) =>
      el("option", {value: x.id, text: t("board_move_option", {prefix: x.prefix,
        service: serviceName(x.id), open: x.counters_open, counters: x.counters, waiting: x.waiting})}));
    $("b-move-to").replaceChildren(el("option", {value: "", text: t("board_choose_service")}), ...options);
    $("b-move-count").value = "";
    $("b-move-error").hidden = true;
    $("b-move").showModal();
  }
  $("b-move-cancel").addEventListener("click", () => $("b-move").close());
  $("b-move-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const to = $("b-move-to").value;
    if (!to) return;
    const body = {to};
    const count = $("b-move-count").value;
    if (count) body.count = Number(count);
    const answer = await api("POST", "/api/services/" + encodeURIComponent(dialogService.id) + "/move", body);
    if (!answer.ok) {
      $("b-move-error").textContent = answer.data.error || t("page_offline");
      $("b-move-error").hidden = false;
      return;
    }
    $("b-move").close();
    say(t("board_moved", {n: answer.data.moved.length, numbers: answer.data.moved.join(", "),
      service: serviceName(to)}));
    reread();
  });

  // -- controls -----------------------------------------------------------------------------

  $("b-zone").addEventListener("change", () => { zone = $("b-zone").value; render(); });
  $("b-busy").addEventListener("change", renderServices);
  function soundButton() {
    $("b-sound").setAttribute("aria-pressed", String(soundOn));
    $("b-sound").textContent = t(soundOn ? "board_sound_is_on" : "board_sound_off");
    $("b-sound").classList.remove("b-blocked");
  }
  $("b-sound").addEventListener("click", () => {
    const blocked = $("b-sound").classList.contains("b-blocked");
    soundOn = blocked || !soundOn;
    soundButton();
    if (soundOn) ring();  // this click unlocks the sound, and lets the supervisor hear it
  });
  soundButton();
})();

/* The visitor's status page: the ticket's number, status, people ahead and wait, kept live
   by the ticket's room (snapshot, then events; each with a seq, only news is kept). When
   the phone wakes up or comes back online it asks the API for the true state. Called: a
   large notice, vibration and a sound where the browser allows. Done: the rating. Waiting:
   "Tôi không chờ nữa" after one confirmation. */
"use strict";
(function () {
  const {data, t, api, live, minutes} = QMS;
  const $ = (id) => document.getElementById(id);
  const lang = data.lang;
  const path = "/api/tickets/" + encodeURIComponent(data.token);
  let ticket = data.ticket;
  let seq = data.seq;
  let transfer = null;      // the last transfer, shown while the ticket waits in its new line
  let thanks = "";          // what to say after a rating or a cancel made here
  let soundOn = false;
  let audio = null;
  let lastAlert = "";       // the call already signalled (number, counter, recalls)

  const name = (texts) => (texts && (texts[lang] || texts.vi)) || "";
  const serviceName = (id) => name((data.services[id] || {}).name) || id;
  const counterName = (id) => name((data.counters[id] || {}).name) || t("phone_counter_n", {counter: id});

  function zoneText(zoneId) {
    const zone = data.zones[zoneId];
    if (!zone) return zoneId || "";
    return t("phone_zone", {zone: name(zone.name) || zoneId, floor: zone.floor})
      .replace(/ (\S+)$/, "\u00a0$1");  // "tầng 1" never breaks before its number
  }

  function place() {
    /* Where the visitor should be: the counter once called, else the line's zone. */
    if (["called", "serving", "done"].includes(ticket.status) && ticket.counter) {
      return counterName(ticket.counter) + " · " + zoneText(ticket.zone);
    }
    if (ticket.target_counter) {
      const c = data.counters[ticket.target_counter];
      return counterName(ticket.target_counter) + " · " + zoneText(c && c.zone);
    }
    const s = data.services[ticket.service];
    return zoneText(s ? s.zone : ticket.zone);
  }

  function note() {
    const notes = {
      no_show: "phone_no_show_note", cancelled: "phone_cancelled_note",
      closed: "phone_closed_note", serving: "phone_serving_note",
    };
    if (ticket.status === "waiting") {
      const parts = [];
      if (ticket.line_open === false) parts.push(t("phone_no_counter_note"));
      if (transfer || ticket.transferred) {
        parts.push(ticket.target_counter
          ? t("phone_transferred_counter", {counter: counterName(ticket.target_counter)})
          : t("phone_transferred_service", {service: serviceName(ticket.service)}));
      } else if (ticket.called_at) {
        parts.push(t("phone_put_back_note"));  // called, did not come, back in line
      }
      return parts.join(" ");
    }
    return notes[ticket.status] ? t(notes[ticket.status]) : "";
  }

  function render() {
    const waiting = ticket.status === "waiting";
    const called = ticket.status === "called";
    $("p-number").textContent = ticket.number;
    $("p-priority").hidden = !ticket.priority;
    $("p-service").textContent = serviceName(ticket.service);
    $("p-status").textContent = t("status_" + ticket.status);
    $("p-status").className = "p-status p-status-" + ticket.status;
    const ahead = Math.max(0, (ticket.position || 1) - 1);
    const served = ticket.line_open !== false;
    $("p-ahead-box").hidden = !waiting || (ahead === 0 && served);
    $("p-wait-box").hidden = !waiting || (ahead === 0 && served);
    $("p-next").hidden = !waiting || ahead !== 0 || !served;
    if (waiting) {
      $("p-ahead").textContent = String(ahead);
      $("p-wait").textContent = served ? minutes(ticket.estimated_wait_s) : t("wait_unknown");
    }
    $("p-where-box").hidden = !["waiting", "called", "serving"].includes(ticket.status);
    $("p-where-label").textContent = t(waiting ? "phone_where" : "phone_counter");
    $("p-where").textContent = place();
    const text = note();
    $("p-note").hidden = !text;
    $("p-note").textContent = text;

    $("p-called").hidden = !called;
    if (called) {
      $("p-called-title").textContent = t(ticket.recalls > 0 ? "phone_recalled" : "phone_called");
      $("p-called-number").textContent = ticket.number;
      $("p-called-where").textContent = t("phone_go_to", {counter: counterName(ticket.counter)});
      $("p-called-place").textContent = zoneText(ticket.zone);
    }
    $("p-cancel").hidden = !waiting;
    $("p-rate").hidden = !(ticket.status === "done" && !ticket.rated);
    $("p-thanks").hidden = !(thanks || (ticket.status === "done" && ticket.rated));
    $("p-thanks").textContent = thanks || t("rating_thanks");
    $("p-sound").hidden = !(waiting || called);
    document.title = called
      ? "🔔 " + ticket.number + " → " + counterName(ticket.counter)
      : ticket.number + " · " + t("status_" + ticket.status);
    if (called) signal();
  }

  function signal() {
    /* Once per call (a recall counts as a new one): vibrate and sound. */
    const key = [ticket.number, ticket.counter, ticket.recalls].join("/");
    if (key === lastAlert) return;
    lastAlert = key;
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
    if (soundOn && audio) {
      audio.currentTime = 0;
      audio.play().catch(() => {});
    }
  }

  function adopt(next, nextSeq) {
    if (nextSeq !== undefined && nextSeq < seq) return;  // older than what is shown
    if (nextSeq !== undefined) seq = nextSeq;
    if (next.status && next.status !== "waiting") transfer = null;
    ticket = Object.assign({}, ticket, next);
    render();
  }

  let refreshing = null;
  async function refresh() {
    /* The true state from the API (the phone slept, or the network came back). */
    if (refreshing) return refreshing;
    refreshing = (async () => {
      const answer = await api("GET", path);
      if (answer.status === 429) {  // over this phone's share: try again a little later
        setTimeout(refresh, 5000);
        return;
      }
      if (answer.ok && answer.data.seq >= seq) {
        seq = answer.data.seq;
        if (answer.data.status !== "waiting") transfer = null;
        ticket = Object.assign({}, ticket, answer.data);
        const time = new Date().toLocaleTimeString(lang === "vi" ? "vi-VN" : "en-GB",
          {hour: "2-digit", minute: "2-digit", timeZone: data.timezone});
        $("p-updated").textContent = t("phone_updated", {time});
        render();
      }
    })();
    try { await refreshing; } finally { refreshing = null; }
  }

  function onTicketEvent(p) {
    if (p.seq < seq) return;
    const next = {status: p.status, counter: p.counter, zone: p.zone, service: p.service};
    if ("recalls" in p) next.recalls = p.recalls;
    adopt(next, p.seq);
  }

  const handlers = {
    snapshot(state) {
      if (state.ticket && state.seq >= seq) {
        seq = state.seq;
        if (state.ticket.status !== "waiting") transfer = null;
        ticket = Object.assign({}, ticket, state.ticket);
        render();
      }
    },
    position_changed(p) {
      if (ticket.status === "waiting") {
        adopt({position: p.position, estimated_wait_s: p.estimated_wait_s, service: p.service,
          line_open: p.line_open}, p.seq);
      }
    },
    ticket_called: onTicketEvent,
    ticket_recalled: onTicketEvent,
    ticket_serving: onTicketEvent,
    ticket_completed(p) { onTicketEvent(p); },
    ticket_no_show: onTicketEvent,
    ticket_cancelled: onTicketEvent,
    ticket_requeued(p) {
      onTicketEvent(Object.assign({}, p, {counter: null}));
      refresh();
    },
    ticket_transferred(p) {
      if (p.seq < seq) return;
      seq = p.seq;
      transfer = {to_service: p.to_service, to_counter: p.to_counter};
      ticket = Object.assign({}, ticket, {
        status: "waiting", service: p.to_service, target_counter: p.to_counter,
        counter: null, position: p.position, recalls: 0,
      });
      render();
      refresh();
    },
    ticket_rated(p) {
      if (p.seq < seq) return;
      ticket.rated = true;
      render();
    },
    day_reset() { refresh(); },
    refused(room, ack) {
      // Over this phone's share (many phones behind one address at rush hour): join again
      // when the server says, and meanwhile say the page is not live.
      $("offline").hidden = false;
      if (ack.code === "too_many_requests") {
        setTimeout(() => { socket.disconnect(); socket.connect(); }, ((ack.retry_after || 5) + 1) * 1000);
      }
    },
    online(on) { if (on) $("p-updated").textContent = ""; },
  };
  const socket = live(() => ["ticket:" + data.token], handlers);

  // A phone that slept may hold a dead socket for a while: ask the API at once.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
  window.addEventListener("online", refresh);
  window.addEventListener("pageshow", (e) => { if (e.persisted) refresh(); });

  // -- sound: browsers play only after a tap, so the visitor turns it on once ------------
  $("p-sound").addEventListener("click", () => {
    soundOn = !soundOn;
    if (soundOn && !audio) audio = new Audio("/audio/chime.wav");
    if (soundOn) {  // this tap unlocks playback; it also lets the visitor hear the sound
      audio.currentTime = 0;
      audio.play().catch(() => {});
    }
    $("p-sound").setAttribute("aria-pressed", String(soundOn));
    $("p-sound").textContent = t(soundOn ? "phone_sound_is_on" : "phone_sound_on");
  });

  // -- "Tôi không chờ nữa" -------------------------------------------------------------
  $("p-cancel").addEventListener("click", () => {
    $("p-confirm-text").textContent = t("phone_cancel_confirm", {number: ticket.number});
    $("p-cancel-error").hidden = true;
    $("p-confirm").hidden = false;
    $("p-keep").focus();
  });
  $("p-keep").addEventListener("click", () => { $("p-confirm").hidden = true; });
  $("p-confirm-cancel").addEventListener("click", async () => {
    $("p-confirm-cancel").disabled = true;
    const answer = await api("POST", path + "/cancel");
    $("p-confirm-cancel").disabled = false;
    if (answer.ok) {
      $("p-confirm").hidden = true;
      thanks = t("phone_cancel_done");
      adopt({status: "cancelled"});
      return;
    }
    $("p-cancel-error").textContent = answer.data.error || t("page_offline");
    $("p-cancel-error").hidden = false;
    refresh();
  });

  // -- rating -----------------------------------------------------------------------------
  for (const button of document.querySelectorAll(".p-score")) {
    button.addEventListener("click", async () => {
      const comment = $("p-comment") ? $("p-comment").value.trim() : "";
      const body = {score: Number(button.dataset.score)};
      if (comment) body.comment = comment;
      for (const b of document.querySelectorAll(".p-score")) b.disabled = true;
      const answer = await api("POST", path + "/rating", body);
      for (const b of document.querySelectorAll(".p-score")) b.disabled = false;
      if (answer.ok || answer.data.code === "already_rated") {
        // Rated already (on the counter's device): either way, nothing more to ask.
        thanks = t(answer.ok ? "rating_thanks" : "rating_already");
        adopt({rated: true});
        return;
      }
      $("p-rate-error").textContent = answer.data.error || t("page_offline");
      $("p-rate-error").hidden = false;
    });
  }

  render();
})();

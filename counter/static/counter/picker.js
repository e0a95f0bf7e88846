/* The counter picker: the counters this officer may sit at, live (who sits where, open or
   paused), grouped by zone. Opening one seats the officer and goes to its console; a
   counter held by someone else is refused with the server's message, unless a supervisor
   takes the seat over. */
"use strict";
(function () {
  const {data, t, api, el, ask} = window.QMS;
  const me = data.me;
  const allowed = new Set(data.allowed);
  const message = document.getElementById("message");
  let counters = [];

  function say(text) { message.textContent = text; }

  let loading = false;
  let again = false;
  async function load() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      do {
        again = false;
        const r = await api("GET", "/api/counters");
        if (r.ok) {
          counters = r.data.counters.filter((c) => allowed.has(c.id));
          render();
        }
      } while (again);
    } finally {
      loading = false;
    }
  }

  function names(ids) {
    return ids.map((s) => (data.services[s] ? data.services[s].name : s)).join(", ");
  }

  function card(c) {
    const mine = c.officer === me.username;
    const other = c.officer && !mine;
    const label = mine ? "console_go_back" : other && me.role !== "officer"
      ? "console_take_over" : "console_open";
    const button = el("button", {type: "button", class: mine ? "primary" : "",
                                 "data-counter": String(c.id), text: t(label)});
    button.addEventListener("click", () => choose(c));
    return el("li", {class: "pick counter-" + c.status + (mine ? " mine" : "")},
      el("div", {class: "pick-head"},
         el("span", {class: "pick-name", text: c.name}),
         el("span", {class: "pill counter-" + c.status, text: t("console_counter_" + c.status)})),
      el("div", {class: "pick-services", text: names(c.services)}),
      el("div", {class: "pick-officer", text: c.officer
        ? t("console_held_by_short", {officer: c.officer}) : t("console_free")}),
      button);
  }

  function render() {
    const zones = new Map();
    for (const c of counters) {
      if (!zones.has(c.zone)) zones.set(c.zone, []);
      zones.get(c.zone).push(c);
    }
    const sections = [...zones].map(([zone, list]) => el("section", {class: "zone"},
      el("h2", {text: t("console_zone", {zone})}),
      el("ul", {class: "picks"}, ...list.map(card))));
    document.getElementById("zones").replaceChildren(...sections);
    document.getElementById("none").hidden = counters.length > 0;
  }

  async function choose(c) {
    if (c.officer === me.username) { location.assign("/counter/" + c.id); return; }
    if (c.officer && me.role !== "officer" &&
        !await ask(t("console_confirm_take_over", {officer: c.officer}))) return;
    const r = await api("POST", `/api/counters/${c.id}/open`);
    if (r.ok) { location.assign("/counter/" + c.id); return; }
    if (r.status === 401) { location.assign("/counter/login?next=/counter"); return; }
    say(r.data.error || t("console_failed"));
    load();
  }

  document.getElementById("logout").addEventListener("click", async () => {
    const held = counters.find((c) => c.officer === me.username && c.current);
    if (held && !await ask(t("console_confirm_logout", {number: held.current.number}))) return;
    const r = await api("POST", "/api/logout");
    if (r.ok || r.status === 401) location.assign("/counter/login");
    else say(r.data.error || t("console_failed"));
  });

  QMS.live(() => ["display"], {snapshot: load, counter_changed: load});
})();

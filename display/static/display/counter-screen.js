/* The small screen above a counter: the number it calls or serves now. */
"use strict";
(function () {
  const {data, t, live} = QMS;
  const room = "display:counter:" + data.counter;
  const numberBox = document.getElementById("cs-number");
  const stateBox = document.getElementById("cs-state");
  let seq = 0;
  let current = null;

  function show(number, status, counterStatus) {
    current = number;
    numberBox.textContent = number || "—";
    numberBox.classList.toggle("calling", status === "called");
    let text = "";
    if (counterStatus === "closed") text = t("display_counter_closed");
    else if (counterStatus === "paused") text = t("display_counter_paused");
    else if (status === "called") text = t("display_counter_calling");
    else if (status === "serving") text = t("display_counter_serving");
    else text = t("display_counter_free");
    stateBox.textContent = text;
  }

  const fresh = (p) => !(p.seq && p.seq <= seq) && p.counter === data.counter;
  const finished = (p) => { if (fresh(p) && p.number === current) show(null, null, "open"); };

  live(() => [room], {
    snapshot(s) {
      if (s.room !== room) return;
      seq = s.seq;
      show(s.counter.number, s.counter.ticket_status, s.counter.status);
    },
    ticket_called(p) { if (fresh(p)) show(p.number, "called", "open"); },
    ticket_recalled(p) { if (fresh(p)) show(p.number, "called", "open"); },
    ticket_serving(p) { if (fresh(p)) show(p.number, "serving", "open"); },
    ticket_completed: finished,
    ticket_no_show: finished,
    ticket_requeued: finished,
    ticket_transferred: finished,
    counter_changed(p) {
      if (!fresh(p)) return;
      if (p.status !== "open") show(null, null, p.status);
      else if (!current) show(null, null, "open");
    },
  });
})();

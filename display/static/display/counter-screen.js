/* The small screen above a counter: the number it calls or serves now. A pause does not
   end the visit: the number stays (as after a reload) and comes back with the resume. */
"use strict";
(function () {
  const {data, t, live} = QMS;
  const room = "display:counter:" + data.counter;
  const numberBox = document.getElementById("cs-number");
  const stateBox = document.getElementById("cs-state");
  let seq = 0;
  let current = null;       // the number called or served now
  let ticketStatus = null;  // "called" or "serving"
  let counterStatus = "closed";

  function show() {
    numberBox.textContent = current || "—";
    numberBox.classList.toggle("calling", ticketStatus === "called" && counterStatus === "open");
    QMS_FIT(numberBox);
    let text = t("display_counter_free");
    if (counterStatus === "closed") text = t("display_counter_closed");
    else if (counterStatus === "paused") text = t("display_counter_paused");
    else if (ticketStatus === "called") text = t("display_counter_calling");
    else if (ticketStatus === "serving") text = t("display_counter_serving");
    stateBox.textContent = text;
  }

  function ticket(number, status) {
    current = number;
    ticketStatus = number ? status : null;
    counterStatus = "open";
    show();
  }

  const fresh = (p) => !(p.seq && p.seq <= seq) && p.counter === data.counter;
  const finished = (p) => { if (fresh(p) && p.number === current) ticket(null, null); };

  live(() => [room], {
    snapshot(s) {
      if (s.room !== room) return;
      seq = s.seq;
      current = s.counter.number;
      ticketStatus = current ? s.counter.ticket_status : null;
      counterStatus = s.counter.status;
      show();
    },
    ticket_called(p) { if (fresh(p)) ticket(p.number, "called"); },
    ticket_recalled(p) { if (fresh(p)) ticket(p.number, "called"); },
    ticket_serving(p) { if (fresh(p)) ticket(p.number, "serving"); },
    ticket_completed: finished,
    ticket_no_show: finished,
    ticket_requeued: finished,
    ticket_transferred: finished,
    counter_changed(p) {
      if (!fresh(p)) return;
      counterStatus = p.status;
      if (p.status === "closed") current = ticketStatus = null;  // closing frees the seat
      show();
    },
  });
})();

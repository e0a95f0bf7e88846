"""Random days driven through the API: whatever the order of actions, the queue stays
consistent, refusals change nothing, and nothing answers 500."""

import tempfile
from pathlib import Path

from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import server
from conftest import FakeClock, Staff, make_config
from qms import settings
from test_api import state

SERVICES = ["quoc-tich", "cong-chung", "cap-phep", "nha-o"]
COUNTERS = [1, 2, 3, 4]
ACTIONS = ["next", "recall", "serve", "complete", "no-show", "requeue", "pause", "resume",
           "close", "open"]


class QueueDay(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        cfg = settings.load(make_config(Path(self.tmp.name)))
        self.clock = FakeClock(cfg)
        self.app = server.create_app(cfg, clock=self.clock)
        self.qms = self.app.extensions["qms"]
        self.client = self.app.test_client()
        self.staff = {c: Staff(self.app, f"cb{c}") for c in COUNTERS}
        for c in COUNTERS:
            self.staff[c].act(c, "open")
        self.tokens = []

    def teardown(self):
        self.qms.close()
        self.tmp.cleanup()

    def _check(self, response, before):
        assert response.status_code < 500, response.json
        if response.status_code >= 400:
            assert "error" in response.json and state(self.qms) == before

    @rule(service=st.sampled_from(SERVICES), priority=st.booleans(),
          wait=st.integers(0, 120))
    def issue(self, service, priority, wait):
        self.clock.advance(wait)
        before = state(self.qms)
        r = self.client.post("/api/tickets", json={"service": service, "priority": priority})
        self._check(r, before)
        if r.status_code == 201:
            self.tokens.append(r.json["token"])

    @rule(counter=st.sampled_from(COUNTERS), action=st.sampled_from(ACTIONS),
          wait=st.integers(0, 600))
    def act(self, counter, action, wait):
        self.clock.advance(wait)
        before = state(self.qms)
        self._check(self.staff[counter].act(counter, action), before)

    @rule(counter=st.sampled_from(COUNTERS), to=st.sampled_from(SERVICES + COUNTERS),
          placement=st.sampled_from(["front", "end", "original"]))
    def transfer(self, counter, to, placement):
        before = state(self.qms)
        body = {"placement": placement, ("counter" if isinstance(to, int) else "service"): to}
        self._check(self.staff[counter].act(counter, "transfer", body), before)

    @rule(data=st.data())
    def cancel(self, data):
        if self.tokens:
            token = data.draw(st.sampled_from(self.tokens))
            before = state(self.qms)
            self._check(self.client.post(f"/api/tickets/{token}/cancel"), before)

    @invariant()
    def consistent(self):
        with self.qms.storage.db() as db:
            open_tickets = db.execute(
                "SELECT id, counter FROM tickets WHERE status IN ('called', 'serving')").fetchall()
            held = dict(db.execute("SELECT id, current_ticket FROM counters "
                                   "WHERE current_ticket IS NOT NULL").fetchall())
            numbers = db.execute("SELECT number_service, day, seq, COUNT(*) FROM tickets "
                                 "WHERE parent_id IS NULL GROUP BY 1, 2, 3 "
                                 "HAVING COUNT(*) > 1").fetchall()
            tokens = db.execute("SELECT COUNT(*) FROM tickets WHERE token IS NOT NULL"
                                ).fetchone()[0]
        # Every called or served ticket is the current ticket of exactly its counter.
        for ticket_id, counter in open_tickets:
            assert held.get(counter) == ticket_id
        assert len(set(held.values())) == len(held)
        assert numbers == []
        # Each visitor token points at exactly one live ticket (transfers move it).
        assert tokens == len(self.tokens)


QueueDay.TestCase.settings = hsettings(max_examples=20, stateful_step_count=50,
                                       deadline=None)
test_random_days_keep_the_queue_consistent = QueueDay.TestCase

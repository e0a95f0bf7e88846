"""Which display speaks when several server processes share one database: each process's
election, on one SQLite file, as two processes would use it."""

from __future__ import annotations

import pytest

from display.election import STALE_S, LocalElection, SharedElection
from qms.storage import Storage


@pytest.fixture
def storage(tmp_path):
    storage = Storage(tmp_path / "s.sqlite3")
    yield storage
    storage.close()


def rows(storage):
    with storage.db() as db:
        return sorted((r[0], r[1]) for r in db.execute("SELECT sid, zone FROM speakers"))


def test_two_processes_agree_on_one_voice_per_zone(storage):
    a, b = SharedElection(storage), SharedElection(storage)
    # zones[A].speaker is "loa" in the config both processes read
    assert a.join("A", "a1", "", "loa") == (True, None)
    assert b.join("A", "b1", "", "loa") == (False, None)
    assert b.join("B", "b2", "", "") == (True, None)
    assert a.sweep() == [] and b.sweep() == []  # nothing to mend
    # The named speaker arrives on the other process: the stand-in is silenced.
    assert b.join("A", "b3", "loa", "loa") == (True, "a1")
    assert a.leave("b1") == []  # not a display of process a: no write, no news
    assert b.leave("b3") == [("A", "a1")]
    assert a.sweep() == [] and b.sweep() == []


def test_a_frozen_process_gets_its_displays_back_and_one_voice_remains(storage):
    a, b = SharedElection(storage), SharedElection(storage)
    assert a.join("A", "a1", "", "")[0] is True
    assert b.join("A", "b1", "", "")[0] is False
    with storage.write() as db:  # process a misses its heartbeats (frozen, VM paused)
        db.execute("UPDATE speakers SET seen = seen - ? WHERE process = ?",
                   [STALE_S + 1, a.process])
    assert b.sweep() == [("A", "b1", True)]  # a looks dead: b's display takes the voice
    assert rows(storage) == [("b1", "A")]
    # a wakes up: its display comes back, first in line again, and b's goes quiet.
    assert a.sweep() == []  # a1 was told it speaks, and it does again
    assert b.sweep() == [("A", "b1", False)]
    assert rows(storage) == [("a1", "A"), ("b1", "A")]


def test_a_row_left_by_a_join_that_lost_the_race_with_its_disconnect_is_swept(storage):
    a = SharedElection(storage)
    a.join("A", "a1", "", "")
    a.leave("a1")
    with storage.write() as db:  # the join's write landing after the disconnect's
        a._write(db, "a1", "A", "", "", 0.0, 0.0)
    a.join("A", "a2", "", "")
    a.sweep()
    assert rows(storage) == [("a2", "A")]


def test_the_in_memory_election_answers_the_same():
    e = LocalElection()
    assert e.join("A", "a1", "", "") == (True, None)
    assert e.join("A", "a2", "loa", "loa") == (True, "a1")
    assert e.leave("a2") == [("A", "a1")]
    assert e.sweep() == []

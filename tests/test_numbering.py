"""Numbers are never duplicated or lost: threads, processes, and a server killed mid-burst."""

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from conftest import ROOT, LiveServer, make_config
from qms.storage import Storage

ISSUER = """
import sys
from qms import settings
from qms.center import Center
from qms.clock import Clock
from qms.services import QueueService
from qms.storage import Storage
cfg = settings.load(sys.argv[1])
storage = Storage(cfg["server"]["data_dir"] + "/qms.sqlite3", pool_size=1)
q = QueueService(storage, Center(cfg), Clock(cfg["center"]["timezone"]))
print("ready", flush=True)
sys.stdin.readline()  # start together
for _ in range(int(sys.argv[2])):
    print(q.issue("quoc-tich")["number"], flush=True)
"""


def contiguous(numbers, prefix, count):
    return sorted(numbers) == [f"{prefix}{i:03d}" for i in range(1, count + 1)]


def test_eight_threads_issuing_at_once_give_contiguous_numbers(qms):
    got, barrier = [], threading.Barrier(8)

    def worker():
        barrier.wait()
        for _ in range(50):
            got.append(qms.service.issue("quoc-tich")["number"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 400 and contiguous(got, "PA", 400)


def issue_in_processes(config, processes, each, *, wait_ready=True):
    """Numbers issued by ``processes`` separate processes released at the same moment."""
    procs = [subprocess.Popen([sys.executable, "-c", ISSUER, str(config), str(each)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(processes)]
    if wait_ready:  # all set up first, then issuing together
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    numbers = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        numbers += [n for n in out.split() if n != "ready"]
    return numbers


def test_four_processes_issuing_at_once_give_contiguous_numbers(config_path, qms):
    numbers = issue_in_processes(config_path, 4, 60)
    assert len(numbers) == 240 and contiguous(numbers, "PA", 240)


def test_a_server_killed_mid_burst_keeps_every_acknowledged_ticket(tmp_path):
    # Every ticket is looked up again from 127.0.0.1: lift the per-address visitor limit.
    live_config = make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                         "phone": {"burst": 100_000}})
    srv = LiveServer(live_config).start()
    acked, stop = [], threading.Event()

    def kiosk(service):
        http = requests.Session()
        while not stop.is_set():
            try:
                r = http.post(srv.url + "/api/tickets", json={"service": service}, timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 201:
                acked.append(r.json())

    threads = [threading.Thread(target=kiosk, args=(s,))
               for s in ("quoc-tich", "quoc-tich", "cong-chung", "nha-o")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 150:
        assert time.monotonic() < deadline and srv.proc.poll() is None, "burst never began"
        time.sleep(0.01)
    srv.kill()  # SIGKILL in the middle of the burst
    stop.set()
    for t in threads:
        t.join()
    srv.start()
    try:
        http = requests.Session()
        for ticket in acked:
            r = http.get(f"{srv.url}/api/tickets/{ticket['token']}", timeout=5)
            assert r.status_code == 200 and r.json()["number"] == ticket["number"]
        db = Path(live_config).parent / "data" / "qms.sqlite3"
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT service, seq FROM tickets WHERE parent_id IS NULL "
                                "ORDER BY service, seq").fetchall()
        by_service = {}
        for service, seq in rows:
            by_service.setdefault(service, []).append(seq)
        for seqs in by_service.values():
            assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
        after = http.post(srv.url + "/api/tickets", json={"service": "quoc-tich"},
                          timeout=5).json()
        assert after["number"] == f"PA{len(by_service['quoc-tich']) + 1:03d}"
    finally:
        srv.kill()


def test_four_processes_starting_together_on_a_fresh_folder_share_one_database(tmp_path):
    from conftest import make_config
    config = make_config(tmp_path)  # the data folder does not exist yet
    numbers = issue_in_processes(config, 4, 25, wait_ready=False)  # migrate all at once
    assert len(numbers) == 100 and contiguous(numbers, "PA", 100)


# -- group commit: the writes that arrive together share one COMMIT --------------------------

def test_writes_arriving_during_a_commit_share_the_next_one_and_fail_alone(tmp_path):
    storage = Storage(tmp_path / "g.sqlite3")
    with storage.db() as db:
        db.execute("CREATE TABLE t (n INTEGER UNIQUE)")
    first_inside, others_queued = threading.Event(), threading.Event()
    committed, results = [], {}

    def first(db):
        first_inside.set()
        assert others_queued.wait(10)  # the other callers arrive while this one writes
        db.execute("INSERT INTO t VALUES (0)")
        return 0

    def later(n):
        def fn(db):
            db.execute("INSERT INTO t VALUES (?)", [n])
            if n == 3:
                raise ValueError("refused")  # rolled back alone
            return n
        return fn

    def call(n, fn):
        try:
            results[n] = storage.grouped(fn, on_commit=committed.append)
        except ValueError as exc:
            results[n] = str(exc)

    threads = [threading.Thread(target=call, args=(0, first))]
    threads[0].start()
    assert first_inside.wait(10)
    for n in range(1, 7):
        threads.append(threading.Thread(target=call, args=(n, later(n))))
        threads[-1].start()
    deadline = time.monotonic() + 10
    while storage._jobs.qsize() < 6 and time.monotonic() < deadline:
        time.sleep(0.005)
    others_queued.set()
    for t in threads:
        t.join(10)
    assert results == {0: 0, 1: 1, 2: 2, 3: "refused", 4: 4, 5: 5, 6: 6}
    assert (storage.groups, storage.grouped_calls) == (2, 7)  # 1, then the 6 that waited
    with storage.db() as db:
        assert [r[0] for r in db.execute("SELECT n FROM t ORDER BY rowid")] == [0, 1, 2, 4, 5, 6]
    assert sorted(committed[1:]) == [1, 2, 4, 5, 6] and committed[0] == 0
    storage.close()


def test_a_group_whose_commit_fails_fails_as_a_whole_and_the_writer_goes_on(tmp_path):
    storage = Storage(tmp_path / "g.sqlite3")
    with storage.db() as db:  # a deferred foreign key is checked at COMMIT only
        db.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
    hold, held = threading.Event(), threading.Event()

    def first(db):
        held.set()
        assert hold.wait(10)
        db.execute("INSERT INTO p VALUES (1)")

    outcomes, published = {}, []

    def call(name, fn):
        try:
            outcomes[name] = storage.grouped(fn, on_commit=published.append)
        except sqlite3.IntegrityError as exc:
            outcomes[name] = type(exc).__name__

    threads = [threading.Thread(target=call, args=("first", first))]
    threads[0].start()
    assert held.wait(10)
    for name, sql in (("good", "INSERT INTO c VALUES (1)"), ("bad", "INSERT INTO c VALUES (9)")):
        threads.append(threading.Thread(
            target=call, args=(name, lambda db, sql=sql, name=name: db.execute(sql) and name)))
        threads[-1].start()
    while storage._jobs.qsize() < 2:
        time.sleep(0.005)
    hold.set()
    for t in threads:
        t.join(10)
    # The second group held a row that breaks a key at COMMIT: none of it was written, and
    # its good neighbour is told so rather than answered as if its row were kept.
    assert outcomes == {"first": None, "good": "IntegrityError", "bad": "IntegrityError"}
    assert published == [None]
    assert storage.grouped(lambda db: db.execute("INSERT INTO c VALUES (1)") and "after") == \
        "after"
    with storage.db() as db:
        assert db.execute("SELECT COUNT(*) FROM c").fetchone()[0] == 1
    storage.close()


GREENLETS = """
from gevent import monkey; monkey.patch_all()
import json, sys, tempfile, gevent
sys.path.insert(0, sys.argv[1])
from qms.storage import Storage

s = Storage(tempfile.mkdtemp() + "/g.sqlite3")
with s.db() as db:
    db.execute("CREATE TABLE t (n INTEGER)")
res = {}

def call(n, on_commit=None, timeout=None):
    def fn(db):
        db.execute("INSERT INTO t VALUES (?)", [n])
        return n
    try:
        with gevent.Timeout(timeout):
            res[n] = s.grouped(fn, on_commit)
    except gevent.Timeout:
        res[n] = "timed out"

slow = lambda value: gevent.sleep(0.2)  # publishing through Redis yields
first = gevent.spawn(call, 0, slow)
gevent.sleep(0.05)  # the first group is committed and publishing
impatient = gevent.spawn(call, 1, None, 0.05)  # gives up waiting after 50 ms
killed = gevent.spawn(call, 2)
patient = gevent.spawn(call, 3)
gevent.sleep(0.01)
killed.kill()  # its client went away
gevent.joinall([first, impatient, patient], timeout=5)
late = gevent.spawn(call, 4)
late.join(5)
with s.db() as db:
    rows = sorted(r[0] for r in db.execute("SELECT n FROM t"))
print(json.dumps({"results": res, "rows": rows}))
"""


def test_callers_that_give_up_or_die_while_waiting_do_not_stall_the_others():
    out = subprocess.run([sys.executable, "-c", GREENLETS, str(ROOT)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["results"] == {"0": 0, "1": "timed out", "3": 3, "4": 4}
    # The callers that left were written all the same: they only lost their answer.
    assert seen["rows"] == [0, 1, 2, 3, 4]

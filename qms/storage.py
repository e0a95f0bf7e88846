"""The storage module owns the SQLite connections.

WAL journal with ``synchronous=FULL``: a transaction that returned has reached the disk, so
a number once acknowledged survives a power cut. Writes go through ``write()``, which takes
``BEGIN IMMEDIATE`` so that two writers never interleave a read-then-write.

Writers queue on a lock rather than on SQLite's busy handler, which sleeps 1 to 100 ms
between retries: a thread (or greenlet) lock inside the process, and ``flock`` on a lock
file beside the database between processes sharing it.

``grouped()`` is group commit for the hottest write, issuing: the calls that arrive while
one is being written share the next transaction, each in its own savepoint, and one COMMIT
(one fsync) makes them all durable before any of them answers. The COMMIT was 21 % of the
server's time when each ticket had its own.
"""

from __future__ import annotations

import fcntl
import logging
import queue
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .migrations import migrations

log = logging.getLogger(__name__)


class _Grouped:
    """One call waiting in a group commit."""

    __slots__ = ("fn", "on_commit", "done", "value", "error")

    def __init__(self, fn, on_commit):
        self.fn, self.on_commit = fn, on_commit
        self.done = threading.Event()
        self.value = self.error = None

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


class Storage:
    def __init__(self, path: str | Path, *, pool_size: int = 8):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lock_file = open(self.path + ".lock", "a+b")  # noqa: SIM115 (kept open)
        self._group_lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()  # calls waiting for the group-commit writer
        self._writer: threading.Thread | None = None
        self.closed = False
        self.groups = self.grouped_calls = 0  # for tests and benchmarks: mean group size
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._all: list[sqlite_utils.Database] = []
        for _ in range(pool_size):
            db = sqlite_utils.Database(self._connect())
            self._all.append(db)
            self._pool.put(db)
        with self._exclusive(), self.db() as db:  # processes starting together migrate once
            migrations.apply(db)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @contextmanager
    def _exclusive(self):
        with self._lock:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextmanager
    def db(self):
        """A sqlite-utils Database on a pooled connection, outside any transaction."""
        db = self._pool.get()
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            self._pool.put(db)

    @contextmanager
    def write(self):
        """One write transaction (BEGIN IMMEDIATE ... COMMIT); rolled back on any error."""
        with self._exclusive(), self.db() as db:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            db.conn.execute("COMMIT")

    def grouped(self, fn, on_commit=None):
        """``fn(db)`` in a write transaction shared with the calls that arrive meanwhile
        (group commit), rolled back alone if it raises ``Exception``. Returns its value
        once the group is committed, or raises its error; ``on_commit(value)`` runs after
        the COMMIT, in the order the calls were made, before any of them returns (events
        go out in the order of the log).

        The groups are written by one writer thread (a greenlet under gevent) that takes
        every call waiting when it is free: a caller that dies while it waits (a timeout,
        a killed greenlet) loses only its answer, never the other callers' answers or the
        writer itself."""
        job = _Grouped(fn, on_commit)
        with self._group_lock:
            if self._writer is None:
                if self.closed:
                    raise RuntimeError("storage closed")
                self._writer = threading.Thread(target=self._write_groups, daemon=True,
                                                name="qms-group-commit")
                self._writer.start()
            self._jobs.put(job)
        job.done.wait()
        return job.result()

    def _write_groups(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            time.sleep(0)  # under gevent, the requests already read join this group
            group, stop = [job], False
            while True:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            try:
                self._write_group(group)
            except Exception:  # _write_group answers every job; this is a bug to log
                log.exception("group commit failed")
            if stop:
                return

    def _write_group(self, group):
        self.groups += 1
        self.grouped_calls += len(group)
        committed = False
        try:
            with self._exclusive(), self.db() as db:
                db.conn.execute("BEGIN IMMEDIATE")
                for job in group:
                    db.conn.execute("SAVEPOINT grouped")
                    try:
                        job.value = job.fn(db)
                    except Exception as exc:
                        db.conn.execute("ROLLBACK TO grouped")
                        job.error = exc
                    db.conn.execute("RELEASE grouped")
                db.conn.execute("COMMIT")
                committed = True
        except BaseException as exc:
            if committed:  # the tickets are on disk: only the clean-up after it failed
                log.exception("after a group commit")
            else:  # BEGIN, a job or COMMIT failed (db() rolled back): nothing holds
                for job in group:
                    if job.error is None:
                        job.value, job.error = None, exc
            if not isinstance(exc, Exception):
                raise
        finally:
            if committed:
                for job in group:
                    if job.error is None and job.on_commit is not None:
                        try:
                            job.on_commit(job.value)
                        except Exception:
                            log.exception("after-commit step failed")
            for job in group:
                job.done.set()

    def close(self):
        with self._group_lock:
            self.closed = True
            writer, self._writer = self._writer, None
        if writer is not None:
            self._jobs.put(None)
            writer.join(10)
        for db in self._all:
            db.conn.close()
        self._lock_file.close()

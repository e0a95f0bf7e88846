"""The storage module owns the SQLite connections.

WAL journal with ``synchronous=FULL``: a transaction that returned has reached the disk, so
a number once acknowledged survives a power cut. Writes go through ``write()``, which takes
``BEGIN IMMEDIATE`` so that two writers never interleave a read-then-write.

Writers queue on a lock rather than on SQLite's busy handler, which sleeps 1 to 100 ms
between retries: a thread (or greenlet) lock inside the process, and ``flock`` on a lock
file beside the database between processes sharing it.
"""

from __future__ import annotations

import fcntl
import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .migrations import migrations


class Storage:
    def __init__(self, path: str | Path, *, pool_size: int = 8):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lock_file = open(self.path + ".lock", "a+b")  # noqa: SIM115 (kept open)
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

    def close(self):
        for db in self._all:
            db.conn.close()
        self._lock_file.close()

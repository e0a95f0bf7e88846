"""The storage module owns the SQLite connections.

WAL journal with ``synchronous=FULL``: a transaction that returned has reached the disk, so
a number once acknowledged survives a power cut. Writes go through ``write()``, which takes
``BEGIN IMMEDIATE`` so that two writers never interleave a read-then-write.
"""

from __future__ import annotations

import queue
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .migrations import migrations


class Storage:
    def __init__(self, path: str | Path, *, pool_size: int = 8):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        for _ in range(pool_size):
            conn = self._connect()
            self._all.append(conn)
            self._pool.put(conn)
        with self.db() as db:
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
    def db(self):
        """A sqlite-utils Database on a pooled connection, outside any transaction."""
        conn = self._pool.get()
        try:
            yield sqlite_utils.Database(conn)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._pool.put(conn)

    @contextmanager
    def write(self):
        """One write transaction (BEGIN IMMEDIATE ... COMMIT); rolled back on any error."""
        with self.db() as db:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            db.conn.execute("COMMIT")

    def close(self):
        for conn in self._all:
            conn.close()

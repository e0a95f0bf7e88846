"""Staff accounts: hashed passwords, roles, and the first admin."""

from __future__ import annotations

import secrets
import threading
import time

from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("officer", "supervisor", "admin")
# Password hashing costs ~150 ms of CPU: at most two at once, each off the event loop.
_HASHING = threading.BoundedSemaphore(2)


def _off_loop(fn, *args):
    """Run a CPU-heavy call that releases the GIL (hashlib.scrypt) without stalling the
    server: in a native thread under gevent, directly otherwise."""
    with _HASHING:
        try:
            from gevent import get_hub, monkey
        except ImportError:
            return fn(*args)
        if monkey.is_module_patched("threading"):
            return get_hub().threadpool.apply(fn, args)
        return fn(*args)

# Verifying against this hash when the user does not exist keeps timing alike.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


def _hash(password: str) -> str:
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    return _off_loop(generate_password_hash, password)


class LoginThrottle:
    """Slow down password guessing: after ``limit`` failures for one key (an address and
    user name, or an address alone with a larger limit) within ``window_s`` seconds,
    further attempts are refused until the window passes."""

    def __init__(self, limit=5, window_s=300.0, now=time.monotonic):
        self.limit, self.window_s, self.now = limit, window_s, now
        self._failures: dict[tuple, list[float]] = {}

    def _recent(self, key):
        cutoff = self.now() - self.window_s
        recent = [t for t in self._failures.get(key, ()) if t > cutoff]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def retry_after(self, key, limit=None) -> int:
        """Seconds to wait before trying again, or 0 when an attempt is allowed."""
        recent = self._recent(key)
        if len(recent) < (limit or self.limit):
            return 0
        oldest = recent[-(limit or self.limit)]
        return max(1, int(oldest + self.window_s - self.now()) + 1)

    def failed(self, key):
        self._recent(key)
        self._failures.setdefault(key, []).append(self.now())

    def succeeded(self, key):
        self._failures.pop(key, None)

    def forget_one(self, key):
        """Take back the latest attempt counted for ``key`` (it succeeded)."""
        attempts = self._failures.get(key)
        if attempts:
            attempts.pop()


class Accounts:
    def __init__(self, storage):
        self.storage = storage

    def add(self, username: str, password: str, role: str, counters=()) -> dict:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not username or len(username) > 64 or not username.isprintable():
            raise ValueError("user name must be 1-64 printable characters")
        password_hash = _hash(password)
        with self.storage.write() as db:
            if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise ValueError(f"user '{username}' already exists")
            self._insert(db, username, password_hash, role, counters)
        return self.get(username)

    @staticmethod
    def _insert(db, username, password_hash, role, counters=()):
        db["users"].insert({
            "username": username, "password_hash": password_hash, "role": role,
            "counters": ",".join(str(c) for c in counters), "active": 1,
            "created_at": time.time(), "session_version": 0})

    def set_password(self, username: str, password: str):
        """Change a password; every session of that user ends."""
        password_hash = _hash(password)
        with self.storage.write() as db:
            cur = db.execute("UPDATE users SET password_hash = ?, session_version = "
                             "session_version + 1 WHERE username = ?",
                             [password_hash, username])
            if cur.rowcount != 1:
                raise ValueError(f"no user '{username}'")

    def end_sessions(self, username: str):
        """Invalidate every session cookie of the user (logout)."""
        with self.storage.write() as db:
            db.execute("UPDATE users SET session_version = session_version + 1 "
                       "WHERE username = ?", [username])

    def get(self, username: str) -> dict | None:
        with self.storage.db() as db:
            row = db.execute("SELECT * FROM users WHERE username = ? AND active = 1",
                             [username]).fetchone()
        if row is None:
            return None
        return {"username": row["username"], "role": row["role"],
                "counters": [int(c) for c in row["counters"].split(",") if c],
                "session_version": row["session_version"]}

    def verify(self, username: str, password: str) -> dict | None:
        with self.storage.db() as db:
            row = db.execute("SELECT password_hash FROM users WHERE username = ? AND "
                             "active = 1", [username]).fetchone()
        if row is None:
            _off_loop(check_password_hash, _DUMMY_HASH, password)
            return None
        if not _off_loop(check_password_hash, row[0], password):
            return None
        return self.get(username)

    def ensure_admin(self, password: str | None) -> str | None:
        """Create user 'admin' when no admin exists. Returns the password if it was
        generated here (to print once), else None."""
        with self.storage.db() as db:
            if db.execute("SELECT 1 FROM users WHERE role = 'admin'").fetchone():
                return None
        generated = None
        if not password:
            password = generated = secrets.token_urlsafe(12)
        password_hash = _hash(password)
        with self.storage.write() as db:  # checked again under the write lock
            if db.execute("SELECT 1 FROM users WHERE role = 'admin'").fetchone():
                return None  # another process created it meanwhile
            if db.execute("SELECT 1 FROM users WHERE username = 'admin'").fetchone():
                raise ValueError("a user named 'admin' exists but is not an admin; give "
                                 "an admin account to someone with 'user add'")
            self._insert(db, "admin", password_hash, "admin")
        return generated

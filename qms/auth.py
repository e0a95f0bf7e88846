"""Staff accounts: hashed passwords, roles, and the first admin."""

from __future__ import annotations

import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("officer", "supervisor", "admin")
# Verifying against this hash when the user does not exist keeps timing alike.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


class LoginThrottle:
    """Slow down password guessing: after ``limit`` failures for one (address, user name)
    within ``window_s`` seconds, further attempts are refused until the window passes."""

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

    def retry_after(self, key) -> int:
        """Seconds to wait before trying again, or 0 when an attempt is allowed."""
        recent = self._recent(key)
        if len(recent) < self.limit:
            return 0
        return max(1, int(recent[0] + self.window_s - self.now()) + 1)

    def failed(self, key):
        self._recent(key)
        self._failures.setdefault(key, []).append(self.now())

    def succeeded(self, key):
        self._failures.pop(key, None)


class Accounts:
    def __init__(self, storage):
        self.storage = storage

    def add(self, username: str, password: str, role: str, counters=()) -> dict:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not username or len(username) > 64 or not username.isprintable():
            raise ValueError("user name must be 1-64 printable characters")
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        with self.storage.write() as db:
            if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise ValueError(f"user '{username}' already exists")
            db["users"].insert({
                "username": username, "password_hash": generate_password_hash(password),
                "role": role, "counters": ",".join(str(c) for c in counters),
                "active": 1, "created_at": time.time()})
        return self.get(username)

    def set_password(self, username: str, password: str):
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        with self.storage.write() as db:
            cur = db.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                             [generate_password_hash(password), username])
            if cur.rowcount != 1:
                raise ValueError(f"no user '{username}'")

    def get(self, username: str) -> dict | None:
        with self.storage.db() as db:
            row = db.execute("SELECT * FROM users WHERE username = ? AND active = 1",
                             [username]).fetchone()
        if row is None:
            return None
        return {"username": row["username"], "role": row["role"],
                "counters": [int(c) for c in row["counters"].split(",") if c]}

    def verify(self, username: str, password: str) -> dict | None:
        with self.storage.db() as db:
            row = db.execute("SELECT password_hash FROM users WHERE username = ? AND "
                             "active = 1", [username]).fetchone()
        if row is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(row[0], password):
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
        self.add("admin", password, "admin")
        return generated

"""Named schema migrations. Applied in order at start; nothing is ever dropped."""

from sqlite_utils.migrations import Migrations

migrations = Migrations("qms")


@migrations()
def m001_initial(db):
    for sql in (
        """CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            token TEXT UNIQUE,
            day TEXT NOT NULL,
            number TEXT NOT NULL,
            seq INTEGER NOT NULL,
            number_service TEXT NOT NULL,
            service TEXT NOT NULL,
            target_counter INTEGER,
            priority INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'serving', 'done',
                'no_show', 'transferred', 'cancelled', 'closed')),
            queue_key REAL NOT NULL,
            issued_at REAL NOT NULL,
            called_at REAL,
            served_at REAL,
            finished_at REAL,
            counter INTEGER,
            officer TEXT,
            recalls INTEGER NOT NULL DEFAULT 0,
            parent_id INTEGER REFERENCES tickets(id),
            kiosk TEXT,
            estimate_s INTEGER
        )""",
        # A number once issued is never issued again: one row per (service, day, seq) among
        # issued tickets; transfers keep the number and point at their parent.
        """CREATE UNIQUE INDEX tickets_number ON tickets(number_service, day, seq)
            WHERE parent_id IS NULL""",
        "CREATE INDEX tickets_queue ON tickets(day, status, service, queue_key)",
        "CREATE INDEX tickets_done ON tickets(service, status, finished_at)",
        """CREATE TABLE number_counters (
            service TEXT NOT NULL, day TEXT NOT NULL, last INTEGER NOT NULL,
            PRIMARY KEY (service, day))""",
        """CREATE TABLE counters (
            id INTEGER PRIMARY KEY,
            status TEXT NOT NULL DEFAULT 'closed' CHECK (status IN ('closed', 'open', 'paused')),
            officer TEXT,
            pause_reason TEXT NOT NULL DEFAULT '',
            current_ticket INTEGER REFERENCES tickets(id),
            -- ordinary calls since the last priority call (none yet: a large number)
            since_priority INTEGER NOT NULL DEFAULT 1000000,
            updated_at REAL)""",
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'admin')),
            counters TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL)""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            day TEXT NOT NULL,
            type TEXT NOT NULL,
            ticket_id INTEGER,
            number TEXT,
            service TEXT,
            counter INTEGER,
            officer TEXT,
            data TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX events_day ON events(day, type)",
        # The event log is append-only: statistics are computed from it.
        """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
        """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
        """CREATE TABLE ratings (
            ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
            score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
            comment TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL, counter INTEGER, officer TEXT, service TEXT)""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ):
        db.execute(sql)


@migrations()
def m002_session_version(db):
    # Raised at logout and password change: older session cookies stop working.
    db.execute("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")


@migrations()
def m003_line_index(db):
    # Covers the position count of a waiting ticket (views.position) without reading rows.
    db.execute("CREATE INDEX tickets_line ON tickets(day, status, service, target_counter, "
               "priority, queue_key)")


@migrations()
def m004_request_and_language(db):
    # request_id: the kiosk's key for one tap, so a retry after a lost answer gets the same
    # ticket, never a second one. lang: the language the visitor read at the kiosk, which a
    # reprint uses.
    db.execute("ALTER TABLE tickets ADD COLUMN request_id TEXT")
    db.execute("ALTER TABLE tickets ADD COLUMN lang TEXT")
    db.execute("CREATE UNIQUE INDEX tickets_request ON tickets(day, request_id) "
               "WHERE request_id IS NOT NULL")


@migrations()
def m005_speakers(db):
    # Which display speaks in each zone, shared by the server processes of one database
    # when they fan out through Redis (display/election.py). Live device state, not history:
    # rows come and go with the displays' connections.
    db.execute("CREATE TABLE speakers (sid TEXT NOT NULL, zone TEXT NOT NULL, "
               "name TEXT NOT NULL, wanted TEXT NOT NULL, process TEXT NOT NULL, "
               "joined REAL NOT NULL, seen REAL NOT NULL, PRIMARY KEY (sid, zone))")
    db.execute("CREATE INDEX speakers_zone ON speakers(zone, joined)")


@migrations()
def m006_counter_finished(db):
    # The rating device asks about its counter's latest completed ticket (views.rating_device).
    db.execute("CREATE INDEX tickets_counter_finished ON tickets(counter, finished_at)")


@migrations()
def m007_service_issuing(db):
    # A supervisor may pause ticket issuing for one service (the board): live state, one
    # row per paused service; the event log keeps the history.
    db.execute("CREATE TABLE service_issuing (service TEXT PRIMARY KEY, reason TEXT NOT NULL "
               "DEFAULT '', by TEXT, at REAL NOT NULL)")

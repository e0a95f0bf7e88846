"""QMS: counter queue and ticketing for public service centers.

The core (``qms.domain``, ``qms.services``, storage and adapters) never imports a
blueprint; ``server.py`` composes the application with ``create_app``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .auth import Accounts
from .center import Center
from .services import QueueService
from .storage import Storage


@dataclass
class Qms:
    """What the blueprints reach through ``current_app.extensions['qms']``."""

    cfg: dict
    center: Center
    storage: Storage
    service: QueueService
    accounts: Accounts
    printers: object = None  # qms.printing.Printers: submit(kiosk_id, TicketPrint)
    speech: object = None  # qms.speech.Speech: request(parts), wait(key, timeout)

    def close(self):
        """Let the voice finish the phrase in hand, stop the printers, then close the
        database: after this the data folder can be removed (tests, a server stopping)."""
        if self.speech is not None:
            self.speech.close()
        if self.printers is not None:
            self.printers.close()
        self.storage.close()


def secret_key(cfg) -> str:
    """The configured session key, or a random one kept in data_dir (mode 0600)."""
    if cfg["server"]["secret_key"]:
        return cfg["server"]["secret_key"]
    path = Path(cfg["server"]["data_dir"]) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked: a process starting at the same
        # moment sees either no key or the complete key, never an empty file.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            tmp.unlink()
    return path.read_text().strip()

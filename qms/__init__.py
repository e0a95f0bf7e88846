"""QMS: counter queue and ticketing for public service centers.

The core (``qms.domain``, ``qms.services``, storage and adapters) never imports a
blueprint; ``server.py`` composes the application with ``create_app``.
"""

from __future__ import annotations

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


def secret_key(cfg) -> str:
    """The configured session key, or a random one kept in data_dir (mode 0600)."""
    if cfg["server"]["secret_key"]:
        return cfg["server"]["secret_key"]
    path = Path(cfg["server"]["data_dir"]) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()

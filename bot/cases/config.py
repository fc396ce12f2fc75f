"""Where the case store keeps its state, from environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from bot.config import PROJECT_ROOT


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Mutable state (SQLite file, keys, outbox): ND_STATE_DIR, default <repo>/var."""
    env = os.environ if env is None else env
    return Path(env.get("ND_STATE_DIR") or PROJECT_ROOT / "var")


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{state_dir() / 'cases.sqlite3'}"
    # SQLAlchemy refuses the short scheme that hosting platforms hand out.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


def key_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("ND_KEY_FILE") or state_dir(env) / "keys" / "case.keys")


def outbox_dir() -> Path:
    return Path(os.environ.get("ND_OUTBOX_DIR") or state_dir() / "outbox")


def retention_days() -> int:
    return int(os.environ.get("ND_RETENTION_DAYS", "30"))


def db_timeout_seconds() -> float:
    """Upper bound for connecting and for one statement."""
    return float(os.environ.get("ND_DB_TIMEOUT_SECONDS", "3"))


def make_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable by the owner only; existing dirs are left alone."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask
    return path

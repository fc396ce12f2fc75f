"""Settings from environment variables, with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PRIORITIES = ("urgent", "high", "normal")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    conversation_ttl_minutes: int

    @property
    def knowledge_dir(self) -> Path:
        return self.data_dir / "knowledge"

    @property
    def eligibility_dir(self) -> Path:
        return self.data_dir / "eligibility"


def settings() -> Settings:
    return Settings(
        data_dir=Path(os.environ.get("ND_DATA_DIR", PROJECT_ROOT / "data")),
        conversation_ttl_minutes=conversation_ttl_minutes(),
    )


def conversation_ttl_minutes(env: Mapping[str, str] | None = None) -> int:
    """ND_CONVERSATION_TTL_MINUTES (default 30): the one reader for the wording and the tracker stores."""
    env = os.environ if env is None else env
    return int(env.get("ND_CONVERSATION_TTL_MINUTES") or 30)


@dataclass(frozen=True)
class ResponseDelay:
    hours: int  # the console's target
    text: str  # what she is told (« au plus vite, sous 24 h en semaine »)


# Without an on-call rota nothing backs « dans l'heure »: the defaults promise
# only what a weekday team can keep. A deployment with an on-call sets them.
DEFAULT_DELAYS: Mapping[str, ResponseDelay] = {
    "urgent": ResponseDelay(24, "au plus vite, sous 24 h en semaine"),
    "high": ResponseDelay(48, "sous 2 jours ouvrés"),
    "normal": ResponseDelay(120, "sous 5 jours ouvrés"),
}
_ENV = {"urgent": "ND_URGENT_RESPONSE", "high": "ND_HIGH_RESPONSE", "normal": "ND_NORMAL_RESPONSE"}


def response_delays(env: Mapping[str, str] | None = None) -> dict[str, ResponseDelay]:
    """Response delay per priority: the one reader for the bot's wording and the console's targets.

    ND_URGENT_RESPONSE, ND_HIGH_RESPONSE, ND_NORMAL_RESPONSE: « HOURS|how it is said »,
    e.g. « 1|dans l'heure ». A malformed value is an error at start-up, not a wrong promise.
    """
    env = os.environ if env is None else env
    delays = dict(DEFAULT_DELAYS)
    for priority, name in _ENV.items():
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        hours, sep, text = raw.partition("|")
        if not sep or not hours.strip().isdigit() or int(hours) <= 0 or not text.strip():
            raise ValueError(f"{name} doit être « HEURES|texte », par exemple « 24|sous 24 heures »")
        delays[priority] = ResponseDelay(int(hours), text.strip())
    return delays


def response_hours(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """The console's targets and the scheduler's « en retard »: hours per priority, same reader."""
    return {p: d.hours for p, d in response_delays(env).items()}

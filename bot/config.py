"""Settings from environment variables, with safe defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        conversation_ttl_minutes=int(os.environ.get("ND_CONVERSATION_TTL_MINUTES", "30")),
    )

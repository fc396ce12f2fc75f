"""Live takeover: a référent writes to her in the same conversation. Pure: no Rasa, no I/O.

States of a live session (one per case, table live_sessions):
  attente  she asked for « ici, maintenant »; the assistant keeps helping meanwhile
  rejoint  a référent holds the conversation: the assistant is silent, except on danger
  expire   nobody joined in time: she was offered the 3919, the 114 and the call-back plan
           (on Telegram a référent may still join later; on the web only while her page is open)
  fini     the référent handed back, or she erased the conversation
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from dataclasses import dataclass

WAITING, JOINED, EXPIRED, ENDED = "attente", "rejoint", "expire", "fini"
STATES = (WAITING, JOINED, EXPIRED, ENDED)
JOINABLE = (WAITING, EXPIRED)
ACTIVE = (WAITING, JOINED, EXPIRED)
PUSH_CHANNELS = ("socketio", "telegram")  # channels that can receive a message pushed to them
HER, REFERENT, ASSISTANT, INFO = "elle", "referente", "assistant", "info"
MAX_MESSAGE = 2000
DEFAULT_WAIT_MINUTES = 10


def wait_minutes(env: dict | None = None) -> float:
    """ND_LIVE_WAIT_MINUTES (default 10; decimals allowed, for tests)."""
    raw = (env if env is not None else os.environ).get("ND_LIVE_WAIT_MINUTES") or ""
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_WAIT_MINUTES
    return value if 0 < value <= 24 * 60 else DEFAULT_WAIT_MINUTES


@dataclass(frozen=True)
class LiveSession:
    reference: str
    conversation_id: str
    channel: str
    state: str
    requested_at: dt.datetime
    deadline: dt.datetime
    sender_id: str
    operator: str | None = None
    operator_name: str | None = None
    joined_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    has_address: bool = False

    @property
    def held(self) -> bool:
        return self.state == JOINED


@dataclass(frozen=True)
class LiveMessage:
    id: str
    reference: str
    author: str
    text: str
    at: dt.datetime
    login: str | None = None
    danger: bool = False


def _minutes(value: float) -> str:
    n = max(1, round(value))
    return f"{n} minute" + ("s" if n > 1 else "")


# -- what she reads -----------------------------------------------------------------
def waiting_text(channel: str, minutes: float) -> str:
    where = (
        "Telegram garde la conversation ouverte : si personne n'est libre à temps, un·e référent·e "
        "pourra aussi vous répondre ici plus tard."
        if channel == "telegram"
        else "Gardez cette page ouverte : un·e référent·e ne peut vous écrire ici que tant qu'elle est ouverte."
    )
    return (
        "C'est noté : vous êtes en attente d'un·e référent·e, qui vous écrira ici dès qu'une personne "
        f"sera libre, dans les {_minutes(minutes)} environ. Ce n'est pas garanti : je vous dirai si "
        f"personne n'est disponible. En attendant, je reste là et je peux continuer à vous aider.\n{where}\n"
        "En danger : le 17 ou le 112, ou un SMS au 114."
    )


def joined_text(name: str) -> str:
    return (
        f"{name}, référente, a rejoint la conversation. Vous pouvez lui écrire ici ; l'assistant se tait "
        "pendant ce temps. « effacer » efface toujours la conversation."
    )


def operator_line(name: str, text: str) -> str:
    return f"{name} : {text}"


def left_text(name: str) -> str:
    return (
        f"{name} a quitté la conversation : vous êtes de nouveau avec l'assistant. "
        "Je suis là si vous avez une question."
    )


def expired_text(channel: str) -> str:
    later = (
        " Un·e référent·e pourra encore vous répondre ici plus tard, puisque la conversation reste ouverte."
        if channel == "telegram"
        else ""
    )
    return (
        "Je suis désolée : aucun·e référent·e n'a pu vous rejoindre à temps." + later + "\n"
        "Vous pouvez :\n"
        "• appeler le 3919, gratuit et anonyme, 24 h/24 et 7 j/7, ou lui écrire par son tchat, du lundi au "
        "vendredi de 13 h à 20 h, sur le site de la FNSF ;\n"
        "• en danger, appeler le 17 ou le 112, ou envoyer un SMS au 114 si vous ne pouvez pas parler ;\n"
        "• demander à être recontactée par téléphone, SMS ou e-mail, aux heures que vous choisissez : "
        "écrivez « parler à quelqu'un »."
    )


def danger_note_for_operator() -> str:
    return "Message de danger : la réponse d'urgence (17, 112, SMS 114) lui a été envoyée automatiquement."


EMERGENCY_TEXT = (
    "Je vous crois. Votre sécurité passe avant tout.\n"
    "• Appelez le 17 (police, gendarmerie) ou le 112.\n"
    "• Vous ne pouvez pas parler ? Envoyez un SMS au 114 : écrivez votre adresse précise et "
    "« violences ».\n"
    "La référente lit aussi ce message."
)


# -- what she types ----------------------------------------------------------------------
_ERASE = re.compile(r"^\s*/?\s*(effacer|efface|effacez|effacer la conversation|supprimer la conversation)\s*[.!]*\s*$")


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join(text.split())


def is_erase(text: str) -> bool:
    """« effacer » (typed, the button's /effacer, or the widget's erase): ends the takeover too."""
    return bool(_ERASE.match(_plain(text)))


def clean_operator_text(text: str) -> str:
    """The référent's words as sent: trimmed, CRLF unified, refused if empty or too long."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValueError("vide")
    if len(text) > MAX_MESSAGE or "\x00" in text:
        raise ValueError("trop long")
    return text

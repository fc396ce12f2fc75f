"""What every action shares: slot names and small tracker helpers."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.answers import Reply

SLOT_DISCRETION = "discretion_annoncee"
SLOT_NOT_UNDERSTOOD = "incompris_suite"
SLOT_QUESTION = "question_en_cours"
SLOT_FAILURES = "echecs_question"
SLOT_DEPARTEMENT = "departement"


def _say(dispatcher: CollectingDispatcher, replies: List[Reply]) -> None:
    for reply in replies:
        dispatcher.utter_message(**reply.as_rasa())


def _intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _first_turn(tracker: Tracker) -> bool:
    return not tracker.get_slot(SLOT_DISCRETION)


def _count(tracker: Tracker, slot: str) -> int:
    return int(tracker.get_slot(slot) or 0)


def slot_validator(question: str) -> Callable[..., Any]:
    """A `validate_<slot>` method that hands the slot to the form's shared `_validate`."""
    async def validate(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: Dict[Text, Any]) -> Dict[Text, Any]:
        return await self._validate(question, value, dispatcher, tracker)
    validate.__name__ = f"validate_{question}"
    return validate

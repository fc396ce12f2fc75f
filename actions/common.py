"""What every action shares: slot names, small tracker helpers, the asking of a form's question."""

from __future__ import annotations

import abc
from typing import Any, Callable, Dict, List, Optional, Text, Type, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import safety_line_once
from bot.answers import Reply

SLOT_DISCRETION = "discretion_annoncee"
SLOT_NOT_UNDERSTOOD = "incompris_suite"
SLOT_QUESTION = "question_en_cours"
SLOT_FAILURES = "echecs_question"
SLOT_DEPARTEMENT = "departement"
SLOT_RESUMED = "reprise"  # the next question says « on reprend »


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

    async def validate(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return await self._validate(question, value, dispatcher, tracker)

    validate.__name__ = f"validate_{question}"
    return validate


class AskAction(Action, metaclass=abc.ABCMeta):
    """action_ask_<slot>: the question, an example after a failure, its reason after two.

    Abstract, so never registered itself: `ask_action` makes the concrete class of each slot.
    """

    question = ""

    @abc.abstractmethod
    def name(self) -> Text: ...

    @abc.abstractmethod
    def reply(self, failures: int, resumed: bool) -> Reply: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        safety_line_once(dispatcher, tracker)
        failures = int(tracker.get_slot(SLOT_FAILURES) or 0)
        _say(dispatcher, [self.reply(failures, bool(tracker.get_slot(SLOT_RESUMED)))])
        return [SlotSet(SLOT_RESUMED, False)]


A = TypeVar("A", bound=AskAction)


def ask_action(base: Type[A], question: str) -> Type[A]:
    """The concrete action_ask_<question> on a form's `base` (ActionAsk<Question>, in the base's module)."""
    class_name = "ActionAsk" + "".join(part.title() for part in question.split("_"))

    def name(self: AskAction) -> Text:
        return f"action_ask_{question}"

    return type(
        class_name,
        (base,),
        {"question": question, "name": name, "__module__": base.__module__, "__qualname__": class_name},
    )

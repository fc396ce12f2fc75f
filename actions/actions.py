"""Custom actions. Each one reads the tracker, asks bot/ what to say, and says it.

No wording lives here: it all comes from data/knowledge through bot.answers.
"""

from __future__ import annotations

import abc
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    SLOT_DEPARTEMENT,
    SLOT_DISCRETION,
    SLOT_FAILURES,
    SLOT_NOT_UNDERSTOOD,
    SLOT_QUESTION,
    _count,
    _first_turn,
    _intent,
    _say,
)
from actions.eligibility import paused_questionnaire_reply
from actions.handoff import handoff_followup
from actions.safety import safety_line_once
from bot.answers import NOT_AN_ANSWER_INTENTS, NOT_UNDERSTOOD_INTENTS, QUESTION_LIEU, Answers, default_answers
from bot.knowledge.territory import Resolution

SLOT_REFERENCE = "dossier_reference"  # set by actions/handoff.py once her case exists

logger = logging.getLogger(__name__)


class _AnswersAction(Action, metaclass=abc.ABCMeta):
    """An action that speaks from the knowledge base; tests may pass their own.

    Abstract, so that the action server does not register it as an action.
    """

    @abc.abstractmethod
    def name(self) -> Text: ...

    def __init__(self, answers: Optional[Answers] = None) -> None:
        self._answers = answers

    @property
    def answers(self) -> Answers:
        return self._answers or default_answers()


class ActionRepondre(_AnswersAction):
    """Answers every informational intent, and what was not understood."""

    def name(self) -> Text:
        return "action_repondre"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        safety_line_once(dispatcher, tracker)
        intent = _intent(tracker)
        first = _first_turn(tracker)
        channel = tracker.get_latest_input_channel()
        events: List[EventType] = [SlotSet(SLOT_DISCRETION, True)]
        question = tracker.get_slot(SLOT_QUESTION)

        if question == QUESTION_LIEU and intent in NOT_AN_ANSWER_INTENTS:
            # A garbled answer to the question: re-ask with an example, then explain.
            failures = _count(tracker, SLOT_FAILURES) + 1
            _say(dispatcher, self.answers.ask_place(failures, first, channel))
            return events + [SlotSet(SLOT_FAILURES, failures)]
        if intent in NOT_UNDERSTOOD_INTENTS:
            times = _count(tracker, SLOT_NOT_UNDERSTOOD) + 1
            _say(dispatcher, self.answers.not_understood(times, first, channel))
            return events + [SlotSet(SLOT_NOT_UNDERSTOOD, times)]

        events.append(SlotSet(SLOT_NOT_UNDERSTOOD, 0))
        paused = handoff_followup(tracker, intent) or paused_questionnaire_reply(tracker, intent, answers=self.answers)
        if paused is not None:
            replies, more = paused
            _say(dispatcher, replies)
            return events + more
        if intent == "refuser_repondre":
            replies = self.answers.skipped(first, channel)
            if question == QUESTION_LIEU:
                replies = self.answers.territory(None, first, channel)
            _say(dispatcher, replies)
            return events + [SlotSet(SLOT_QUESTION, None), SlotSet(SLOT_FAILURES, 0)]

        _say(
            dispatcher,
            self.answers.for_intent(
                intent or "menu",
                first,
                channel,
                departement=tracker.get_slot(SLOT_DEPARTEMENT),
                has_case=bool(tracker.get_slot(SLOT_REFERENCE)),
            ),
        )
        # Another topic: the pending question is dropped, she can ask again any time.
        return events + [SlotSet(SLOT_QUESTION, None), SlotSet(SLOT_FAILURES, 0)]


class ActionTerritoire(_AnswersAction):
    """Does the pack exist where she lives? Asks where, at most, once per topic."""

    def name(self) -> Text:
        return "action_territoire"

    def _place(self, tracker: Tracker) -> Resolution:
        territories = self.answers.territories
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") == "departement" and entity.get("value") in territories.by_code:
                dep = territories.by_code[entity["value"]]
                return Resolution(dep, (dep,))
        found = territories.resolve(tracker.latest_message.get("text") or "")
        if not found.found and tracker.get_slot(SLOT_DEPARTEMENT) in territories.by_code:
            dep = territories.by_code[tracker.get_slot(SLOT_DEPARTEMENT)]
            return Resolution(dep, (dep,))
        return found

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        safety_line_once(dispatcher, tracker)
        first = _first_turn(tracker)
        channel = tracker.get_latest_input_channel()
        events: List[EventType] = [SlotSet(SLOT_DISCRETION, True), SlotSet(SLOT_NOT_UNDERSTOOD, 0)]
        found = self._place(tracker)
        if found.ambiguous:
            # « Saint-Denis »: ask which one, the buttons answer with the département's code.
            _say(dispatcher, self.answers.which_place(found.candidates, first, channel))
            return events + [SlotSet(SLOT_QUESTION, QUESTION_LIEU), SlotSet(SLOT_FAILURES, 0)]
        place = found.departement
        if place is None:
            _say(dispatcher, self.answers.ask_place(0, first, channel))
            return events + [SlotSet(SLOT_QUESTION, QUESTION_LIEU), SlotSet(SLOT_FAILURES, 0)]
        _say(dispatcher, self.answers.territory(place, first, channel))
        return events + [SlotSet(SLOT_DEPARTEMENT, place.code), SlotSet(SLOT_QUESTION, None), SlotSet(SLOT_FAILURES, 0)]


class ActionEffacer(_AnswersAction):
    """Confirms the erasure; the tracker store then deletes the whole conversation."""

    def name(self) -> Text:
        return "action_effacer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        safety_line_once(dispatcher, tracker)  # « …supprimés avant que je parte, ce soir »: the 3114 first
        _say(dispatcher, self.answers.erased())
        return [Restarted()]

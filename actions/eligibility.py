"""The eligibility questionnaire: a Rasa form driven by bot.eligibility.

The form's slots are filled from her raw text; `ValidateEligibiliteForm`
reads them with bot's parsers. Danger, « effacer » and « arrêter » are not
extracted (see domain.yml), so the form yields and the rules answer them.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    SLOT_DISCRETION,
    SLOT_FAILURES,
    SLOT_RESUMED,
    AskAction,
    _intent,
    _say,
    ask_action,
    slot_validator,
)
from actions.safety import safety_line_once
from bot.answers import TOPIC_INTENTS, Answers, Reply, default_answers
from bot.eligibility.loader import MEASURES
from bot.eligibility.parsers import is_stop
from bot.eligibility.service import Eligibility, default_eligibility

logger = logging.getLogger(__name__)

FORM = "eligibilite_form"
SLOT_MEASURES = "mesures_demandees"
SLOT_STATE = "questionnaire"  # None, "en_cours", "en_pause", "termine"
PAUSED, RUNNING, DONE, STOPPED = "en_pause", "en_cours", "termine", "arrete"
QUESTION_SLOTS = (
    "abri_ce_soir",
    "departement",
    "relation",
    "preuve",
    "date_preuve",
    "sejour",
    "auu_recue",
    "enfants",
    "revenus",
    "situation_emploi",
    "etat_psy",
)
# A question she asks in the middle is answered if the model is this sure of it.
INTERRUPTION_CONFIDENCE = 0.7
# « Arrêter » from the model alone must be this sure; the lexicon (bot.eligibility.parsers.is_stop) always counts.
STOP_CONFIDENCE = 0.8
# Not an answer, not a question: the question is asked again, without counting a failure.
NEUTRAL_INTENTS = {"menu", "saluer", "remercier", "affirmer"}


SLOT_PLACES = "lieux_possibles"  # candidate codes of a shared place name, while she chooses


class _EligibilityMixin:
    def __init__(self, eligibility: Optional[Eligibility] = None, answers: Optional[Answers] = None) -> None:
        self._eligibility = eligibility
        self._answers = answers

    @property
    def eligibility(self) -> Eligibility:
        return self._eligibility or default_eligibility()

    @property
    def answers(self) -> Answers:
        return self._answers or default_answers()


def _measures(tracker: Tracker) -> tuple[str, ...]:
    value = tracker.get_slot(SLOT_MEASURES) or []
    return tuple(m for m in value if m in MEASURES) or MEASURES


def _previous_topic(tracker: Tracker) -> Optional[str]:
    """The intent of the user message before the latest one."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return None
    return ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name")


class ActionEligibiliteDebut(_EligibilityMixin, Action):
    """Starts the questionnaire, or resumes it where she left it."""

    def name(self) -> Text:
        return "action_eligibilite_debut"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        safety_line_once(dispatcher, tracker)  # before the questionnaire's intro, not after it
        events: List[EventType] = [SlotSet(SLOT_DISCRETION, True), SlotSet(SLOT_FAILURES, 0)]
        if tracker.get_slot(SLOT_STATE) == PAUSED and tracker.get_slot(SLOT_MEASURES):
            return events + [SlotSet(SLOT_STATE, RUNNING), SlotSet(SLOT_RESUMED, True)]
        text = tracker.latest_message.get("text") or ""
        measures = self.eligibility.measures_for(text, _previous_topic(tracker))
        needed = self.eligibility.needed(measures, tracker.slots)
        _say(dispatcher, [self.eligibility.intro(len(needed))])
        return events + [
            SlotSet(SLOT_MEASURES, list(measures)),
            SlotSet(SLOT_STATE, RUNNING),
            SlotSet(SLOT_RESUMED, False),
        ]


class ValidateEligibiliteForm(_EligibilityMixin, FormValidationAction):
    """Asks only what her measures need; reads each answer; answers a question asked meanwhile."""

    def name(self) -> Text:
        return "validate_eligibilite_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        safety_line_once(dispatcher, tracker)
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot(SLOT_STATE) == STOPPED:
            return []  # the form ends; action_resultats_eligibilite then says it stopped
        return self.eligibility.needed(_measures(tracker), tracker.slots)

    async def _validate(
        self, question: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        if question != tracker.get_slot("requested_slot"):
            # Re-validation of an answer given earlier (the form does it when it resumes): keep it.
            return {question: value}
        text = value if isinstance(value, str) else (tracker.latest_message.get("text") or "")
        answer = self.eligibility.read(question, text)
        if answer.status == "ambiguous":
            # « Saint-Denis »: the next question asks which one, with a button each (not a failure).
            logger.info("question %s: ambiguous", question)
            return {question: None, SLOT_PLACES: list(answer.value), SLOT_RESUMED: False}
        if answer.status != "invalid":
            # Only the question's name is logged: never what she wrote.
            logger.info("question %s: %s", question, answer.status)
            return {question: answer.value, SLOT_FAILURES: 0, SLOT_RESUMED: False}
        intent = _intent(tracker)
        confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0)
        if is_stop(text) or (intent == "arreter" and confidence >= STOP_CONFIDENCE):
            return {question: None, SLOT_STATE: STOPPED, SLOT_FAILURES: 0}
        if intent in TOPIC_INTENTS and intent not in NEUTRAL_INTENTS and confidence >= INTERRUPTION_CONFIDENCE:
            _say(dispatcher, self.answers.for_intent(intent, first_turn=False))
            return {question: None, SLOT_RESUMED: True}
        # « oui », « ok », « bonjour » say nothing about the question: a garbled answer like any
        # other (example, then explanation and skip), never « on reprend » again and again.
        failures = int(tracker.get_slot(SLOT_FAILURES) or 0) + 1
        logger.info("question %s: not understood (%d)", question, failures)
        return {question: None, SLOT_FAILURES: failures, SLOT_RESUMED: False}


for _question in QUESTION_SLOTS:
    setattr(ValidateEligibiliteForm, f"validate_{_question}", slot_validator(_question))


class _AskQuestion(_EligibilityMixin, AskAction):
    def reply(self, failures: int, resumed: bool) -> Reply:
        return self.eligibility.ask(self.question, failures, resumed)


class _AskPlace(_AskQuestion):
    """The département question; after a shared name, « Seine-Saint-Denis (93) ou La Réunion (974) ? »."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        codes = tracker.get_slot(SLOT_PLACES) or []
        candidates = [self.answers.territories.by_code[c] for c in codes if c in self.answers.territories.by_code]
        if len(candidates) < 2:
            return await super().run(dispatcher, tracker, domain)
        safety_line_once(dispatcher, tracker)
        # Plain-text payloads: the form reads « Seine-Saint-Denis (93) » as an answer.
        for reply in self.answers.which_place(candidates, channel=tracker.get_latest_input_channel()):
            buttons = [{"title": d.label, "payload": d.label} for d in candidates]
            buttons += [{"title": "Je préfère ne pas répondre", "payload": "/refuser_repondre"}]
            dispatcher.utter_message(text=reply.text, buttons=buttons)
        return [SlotSet(SLOT_PLACES, None), SlotSet(SLOT_RESUMED, False)]


# One action_ask_<slot> per question (QUESTION_SLOTS).
ActionAskAbriCeSoir = ask_action(_AskQuestion, "abri_ce_soir")
ActionAskDepartement = ask_action(_AskPlace, "departement")
ActionAskRelation = ask_action(_AskQuestion, "relation")
ActionAskPreuve = ask_action(_AskQuestion, "preuve")
ActionAskDatePreuve = ask_action(_AskQuestion, "date_preuve")
ActionAskSejour = ask_action(_AskQuestion, "sejour")
ActionAskAuuRecue = ask_action(_AskQuestion, "auu_recue")
ActionAskEnfants = ask_action(_AskQuestion, "enfants")
ActionAskRevenus = ask_action(_AskQuestion, "revenus")
ActionAskSituationEmploi = ask_action(_AskQuestion, "situation_emploi")
ActionAskEtatPsy = ask_action(_AskQuestion, "etat_psy")


class ActionResultatsEligibilite(_EligibilityMixin, Action):
    """The summary, measure by measure, then the offer of a référent; or, if she stopped, just that."""

    def name(self) -> Text:
        return "action_resultats_eligibilite"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot(SLOT_STATE) == STOPPED:
            _say(dispatcher, [self.eligibility.stopped()])
            return [SlotSet(SLOT_STATE, PAUSED)]
        _say(dispatcher, self.eligibility.summary(_measures(tracker), tracker.slots))
        return [SlotSet(SLOT_STATE, DONE), SlotSet(SLOT_FAILURES, 0)]


class ActionPauseQuestionnaire(Action):
    """After an emergency answer: the form stops, her answers wait in the slots.

    Both forms pause here: the questionnaire, and the contact form (whose offer
    then stands again, so that « oui » resumes it).
    """

    def name(self) -> Text:
        return "action_pause_questionnaire"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        if (tracker.active_loop or {}).get("name") == "contact_form":
            return events + [SlotSet("contact_etape", "proposee")]
        return events + [SlotSet(SLOT_STATE, PAUSED)]


def paused_questionnaire_reply(
    tracker: Tracker,
    intent: Optional[str],
    eligibility: Optional[Eligibility] = None,
    answers: Optional[Answers] = None,
) -> Optional[tuple[List[Reply], List[EventType]]]:
    """For action_repondre, while the questionnaire waits: « oui » resumes it, the menu offers it."""
    if tracker.get_slot(SLOT_STATE) != PAUSED:
        return None
    eligibility = eligibility or default_eligibility()
    answers = answers or default_answers()
    if intent == "affirmer":
        return [], [SlotSet(SLOT_STATE, RUNNING), SlotSet(SLOT_RESUMED, True), FollowupAction(FORM)]
    if intent == "menu":
        return answers.for_intent("menu", first_turn=False) + [eligibility.offer_resume()], []
    return None

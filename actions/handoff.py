"""The handoff to a référent: offer, consent, safe-contact form, confirmation, case, withdrawal.

Nothing is stored before her second yes (the confirmation); then the case goes
through bot.cases' outbox, so a database outage loses nothing. Her contact
details leave the tracker as soon as the case is made.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (SLOT_DEPARTEMENT, SLOT_DISCRETION, SLOT_FAILURES, SLOT_RESUMED, AskAction, _intent,
                            _say, slot_validator)
from bot.answers import Reply, default_answers
from bot.eligibility.parsers import is_stop
from bot.eligibility.service import default_eligibility
from bot.handoff import CONTACT_SLOTS, Handoff, danger_signals, default_handoff

logger = logging.getLogger(__name__)

FORM = "contact_form"
SLOT_STEP = "contact_etape"            # None, "proposee", "formulaire", "confirmation", "arrete", "envoyee"
SLOT_REFERENCE = "dossier_reference"
OFFERED, FILLING, CONFIRMING, STOPPED, SENT = "proposee", "formulaire", "confirmation", "arrete", "envoyee"
# The whole case creation (store, retries, outbox) must answer within this; else she is told plainly.
CREATE_TIMEOUT_SECONDS = 20


_flusher_started = False


def _outbox(action: Any) -> Any:
    """The action's outbox (tests pass a fake), else the process-wide one, replayed every 30 s."""
    global _flusher_started
    if getattr(action, "_outbox", None) is not None:
        return action._outbox
    from bot.cases.outbox import default_outbox
    outbox = default_outbox()
    if not _flusher_started:
        outbox.start_flusher(30)  # requests kept while the database was down reach it later
        _flusher_started = True
    return outbox


def _handoff(action: Any) -> Handoff:
    return getattr(action, "_handoff", None) or default_handoff()


def _signals(tracker: Tracker) -> List[str]:
    intents = [((e.get("parse_data") or {}).get("intent") or {}).get("name") for e in tracker.events
               if e.get("event") == "user"]
    return danger_signals(i for i in intents if i)


def _channel(tracker: Tracker) -> str:
    return "telegram" if tracker.get_latest_input_channel() == "telegram" else "web"


def _forget_contact() -> List[EventType]:
    return [SlotSet(slot, None) for slot in CONTACT_SLOTS]


class ActionProposerReferent(Action):
    """« Je veux parler à quelqu'un »: who to call now, and the offer of a référent who calls back."""

    def __init__(self, handoff: Optional[Handoff] = None) -> None:
        self._handoff = handoff

    def name(self) -> Text:
        return "action_proposer_referent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        first = not tracker.get_slot(SLOT_DISCRETION)
        replies = default_answers().for_intent("parler_humain", first_turn=False)
        reference = tracker.get_slot(SLOT_REFERENCE)
        if reference:
            replies.append(Reply(_handoff(self).texts["cree"].splitlines()[0].format(reference=reference)))
            _say(dispatcher, replies)
            return [SlotSet(SLOT_DISCRETION, True)]
        replies.append(_handoff(self).proposal(_signals(tracker)))
        if first:
            replies += default_answers().with_discretion([], True)
        _say(dispatcher, replies)
        # Asked again (« Corriger »): what she gave before is dropped and asked anew.
        return [SlotSet(SLOT_DISCRETION, True), SlotSet(SLOT_STEP, OFFERED), SlotSet(SLOT_FAILURES, 0)] + \
            _forget_contact()


def handoff_followup(tracker: Tracker, intent: Optional[str],
                     handoff: Optional[Handoff] = None) -> Optional[tuple[List[Reply], List[EventType]]]:
    """For action_repondre: her yes or no to the offer, then to the confirmation."""
    step = tracker.get_slot(SLOT_STEP)
    handoff = handoff or default_handoff()
    if step == OFFERED and intent == "affirmer":
        # Her explicit yes: only now are contact questions asked.
        return [], [SlotSet(SLOT_STEP, FILLING), SlotSet(SLOT_FAILURES, 0), FollowupAction(FORM)]
    if step == OFFERED and intent == "nier":
        return [handoff.text("refus")], [SlotSet(SLOT_STEP, None)]
    if step == CONFIRMING and intent == "affirmer":
        return [], [FollowupAction("action_creer_dossier")]
    if step == CONFIRMING and intent == "nier":
        return [handoff.text("abandon")], [SlotSet(SLOT_STEP, None)] + _forget_contact()
    return None


class ActionConsentirContact(Action):
    """Her explicit yes (button): the contact questions may start."""

    def name(self) -> Text:
        return "action_consentir_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet(SLOT_DISCRETION, True), SlotSet(SLOT_STEP, FILLING), SlotSet(SLOT_FAILURES, 0)]


class ValidateContactForm(FormValidationAction):
    """Reads each contact answer; « ne rien envoyer » ends the form without storing."""

    def __init__(self, handoff: Optional[Handoff] = None) -> None:
        self._handoff = handoff

    def name(self) -> Text:
        return "validate_contact_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot(SLOT_STEP) == STOPPED:
            return []
        return _handoff(self).needed(tracker.slots)

    async def _validate(self, question: str, value: Any, dispatcher: CollectingDispatcher,
                        tracker: Tracker) -> Dict[Text, Any]:
        if question != tracker.get_slot("requested_slot"):
            return {question: value}
        text = value if isinstance(value, str) else (tracker.latest_message.get("text") or "")
        answer = _handoff(self).read(question, text, tracker.slots)
        if answer.status != "invalid":
            logger.info("contact question %s: %s", question, answer.status)
            return {question: answer.value, SLOT_FAILURES: 0, SLOT_RESUMED: False}
        if is_stop(text) or _intent(tracker) == "arreter":
            return {question: None, SLOT_STEP: STOPPED, SLOT_FAILURES: 0}
        failures = int(tracker.get_slot(SLOT_FAILURES) or 0) + 1
        logger.info("contact question %s: not understood (%d)", question, failures)
        return {question: None, SLOT_FAILURES: failures}


for _question in CONTACT_SLOTS:
    setattr(ValidateContactForm, f"validate_{_question}", slot_validator(_question))


class _AskContact(AskAction):
    def __init__(self, handoff: Optional[Handoff] = None) -> None:
        self._handoff = handoff

    def reply(self, failures: int, resumed: bool) -> Reply:
        return _handoff(self).ask(self.question, failures, resumed)


for _question in CONTACT_SLOTS:
    _name = "ActionAsk" + "".join(part.title() for part in _question.split("_"))
    globals()[_name] = type(_name, (_AskContact,), {"question": _question})
_AskContact.__abstractmethods__ = frozenset({"name"})  # the base itself is not an action (no slot)


class ActionConfirmerContact(Action):
    """The plan read back to her before anything is sent; or, if she stopped, nothing kept."""

    def __init__(self, handoff: Optional[Handoff] = None) -> None:
        self._handoff = handoff

    def name(self) -> Text:
        return "action_confirmer_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot(SLOT_STEP) == STOPPED:
            _say(dispatcher, [_handoff(self).text("abandon")])
            return [SlotSet(SLOT_STEP, None)] + _forget_contact()
        _say(dispatcher, [_handoff(self).confirmation(tracker.slots)])
        return [SlotSet(SLOT_STEP, CONFIRMING)]


class ActionCreerDossier(Action):
    """Her confirmed request becomes a case, through the outbox: never lost, never twice."""

    def __init__(self, handoff: Optional[Handoff] = None, outbox: Any = None) -> None:
        self._handoff = handoff
        self._outbox = outbox

    def name(self) -> Text:
        return "action_creer_dossier"

    def _draft(self, tracker: Tracker):
        from bot.cases.crypto import conversation_id
        eligibility = default_eligibility()
        measures = [m for m in (tracker.get_slot("mesures_demandees") or [])]
        outcomes = {r.measure: r.outcome for r in eligibility.results(tuple(measures), tracker.slots)} if measures else {}
        # Her validated answers as JSON slot values: the console re-derives the reasons from them.
        summary = {"answers": eligibility.answers_for_case(tracker.slots),
                   "outcomes": outcomes, "rules_version": eligibility.rules.version}
        place = tracker.get_slot(SLOT_DEPARTEMENT)
        channel = _channel(tracker)
        return _handoff(self).draft(
            conversation_id(tracker.sender_id, channel), channel, tracker.slots,
            territory=place if place in eligibility.territories.by_code else None,
            measures=measures, signals=_signals(tracker), eligibility=summary)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        handoff = _handoff(self)
        if tracker.get_slot(SLOT_STEP) != CONFIRMING:
            # Nothing confirmed to send (an old button): offer again rather than store anything.
            return await ActionProposerReferent(self._handoff).run(dispatcher, tracker, domain)
        try:
            draft = self._draft(tracker)
            result = await asyncio.wait_for(asyncio.to_thread(_outbox(self).submit, draft), CREATE_TIMEOUT_SECONDS)
        except Exception as exc:  # told plainly, with the numbers; the cause goes to the log, not her data
            logger.error("case creation failed: %s", type(exc).__name__)
            _say(dispatcher, [handoff.text("echec")])
            return [SlotSet(SLOT_STEP, CONFIRMING)]
        logger.info("case %s (%s)", "pending" if result.pending else "created", draft.priority)
        _say(dispatcher, [handoff.created(result.reference, result.pending, draft.danger_signals, tracker.slots)])
        return [SlotSet(SLOT_STEP, SENT), SlotSet(SLOT_REFERENCE, result.reference)] + _forget_contact()


class ActionAnnulerDossier(Action):
    """« Annuler ma demande »: the case is withdrawn and its personal data erased."""

    def __init__(self, handoff: Optional[Handoff] = None, outbox: Any = None) -> None:
        self._handoff = handoff
        self._outbox = outbox

    def name(self) -> Text:
        return "action_annuler_dossier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        from bot.cases.crypto import conversation_id
        handoff = _handoff(self)
        events: List[EventType] = [SlotSet(SLOT_DISCRETION, True), SlotSet(SLOT_STEP, None)] + _forget_contact()
        try:
            conv = conversation_id(tracker.sender_id, _channel(tracker))
            result = await asyncio.wait_for(asyncio.to_thread(_outbox(self).withdraw, conv), CREATE_TIMEOUT_SECONDS)
        except Exception as exc:
            logger.error("case withdrawal failed: %s", type(exc).__name__)
            _say(dispatcher, [handoff.text("echec")])
            return events
        _say(dispatcher, [handoff.text("annulee" if result.references else "rien_a_annuler")])
        return events + [SlotSet(SLOT_REFERENCE, None)]

"""The handoff to a référent: offer, consent, safe-contact form, confirmation, case, withdrawal.

Nothing is stored before her second yes (the confirmation); then the case goes
through bot.cases' outbox, so a database outage loses nothing. Her contact
details leave the tracker as soon as the case is made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import time
from dataclasses import replace
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    SLOT_DEPARTEMENT,
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
from bot import live
from bot.answers import Reply, default_answers
from bot.eligibility.parsers import is_stop
from bot.eligibility.service import default_eligibility
from bot.handoff import CONTACT_SLOTS, Handoff, danger_signals, default_handoff

logger = logging.getLogger(__name__)

FORM = "contact_form"
SLOT_STEP = "contact_etape"  # None, "proposee", "formulaire", "confirmation", "arrete", "envoyee"
SLOT_REFERENCE = "dossier_reference"
OFFERED, FILLING, CONFIRMING, STOPPED, SENT = "proposee", "formulaire", "confirmation", "arrete", "envoyee"
RECORDING = "enregistrement"  # contact_etape "enregistrement:REFERENCE": a slow write still running
# How long she waits for the case write before being told it is « en cours d'enregistrement »
# (the write goes on; she gets the reference on her next message). Never a false failure.
CREATE_TIMEOUT_SECONDS = float(os.environ.get("ND_CASE_WAIT_SECONDS", "8"))
RETRAIT_FORM = "retrait_form"
STOP = "__arret__"
MAX_TRIES_PER_CONVERSATION = 3
MAX_TRIES_PER_REFERENCE = 5  # per day, in this process, from any conversation
# Writes still running, by reference: their outcome is told on her next message.
_writes: Dict[str, "asyncio.Task[Any]"] = {}
_failed_tries: Dict[str, List[float]] = {}
_tries_lock = threading.Lock()


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
    intents = [
        ((e.get("parse_data") or {}).get("intent") or {}).get("name")
        for e in tracker.events
        if e.get("event") == "user"
    ]
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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        safety_line_once(dispatcher, tracker)
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
        return [
            SlotSet(SLOT_DISCRETION, True),
            SlotSet(SLOT_STEP, OFFERED),
            SlotSet(SLOT_FAILURES, 0),
        ] + _forget_contact()


def handoff_followup(
    tracker: Tracker, intent: Optional[str], handoff: Optional[Handoff] = None
) -> Optional[tuple[List[Reply], List[EventType]]]:
    """For action_repondre: her yes or no to the offer, then to the confirmation."""
    step = tracker.get_slot(SLOT_STEP)
    handoff = handoff or default_handoff()
    recorded = recording_followup(tracker, handoff)
    if recorded is not None:
        return recorded
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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet(SLOT_DISCRETION, True), SlotSet(SLOT_STEP, FILLING), SlotSet(SLOT_FAILURES, 0)]


class ValidateContactForm(FormValidationAction):
    """Reads each contact answer; « ne rien envoyer » ends the form without storing."""

    def __init__(self, handoff: Optional[Handoff] = None) -> None:
        self._handoff = handoff

    def name(self) -> Text:
        return "validate_contact_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot(SLOT_STEP) == STOPPED:
            return []
        return _handoff(self).needed(tracker.slots)

    async def _validate(
        self, question: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
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

    _channel: Optional[str] = None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        self._channel = tracker.get_latest_input_channel()  # read by reply() in the same step (no await between)
        return await super().run(dispatcher, tracker, domain)

    def reply(self, failures: int, resumed: bool) -> Reply:
        reply = _handoff(self).ask(self.question, failures, resumed)
        if self.question == "contact_canal" and self._channel not in live.PUSH_CHANNELS:
            # « Ici, maintenant » only where a référent's words can be pushed (widget, Telegram), not REST.
            here = {o.label for o in _handoff(self).questionnaire["contact_canal"].options if o.id == "ici"}
            reply = replace(reply, buttons=tuple(b for b in reply.buttons if b.title not in here))
        return reply


# One action_ask_<slot> per contact question (bot.handoff.CONTACT_SLOTS).
ActionAskContactCanal = ask_action(_AskContact, "contact_canal")
ActionAskContactTelephone = ask_action(_AskContact, "contact_telephone")
ActionAskContactEmail = ask_action(_AskContact, "contact_email")
ActionAskContactCreneaux = ask_action(_AskContact, "contact_creneaux")
ActionAskContactMessage = ask_action(_AskContact, "contact_message")
ActionAskContactCode = ask_action(_AskContact, "contact_code")
ActionAskContactPrenom = ask_action(_AskContact, "contact_prenom")


class ActionConfirmerContact(Action):
    """The plan read back to her before anything is sent; or, if she stopped, nothing kept."""

    def __init__(self, handoff: Optional[Handoff] = None) -> None:
        self._handoff = handoff

    def name(self) -> Text:
        return "action_confirmer_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
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
        outcomes = (
            {r.measure: r.outcome for r in eligibility.results(tuple(measures), tracker.slots)} if measures else {}
        )
        # Her validated answers as JSON slot values: the console re-derives the reasons from them.
        summary = {
            "answers": eligibility.answers_for_case(tracker.slots),
            "outcomes": outcomes,
            "rules_version": eligibility.rules.version,
        }
        place = tracker.get_slot(SLOT_DEPARTEMENT)
        channel = _channel(tracker)
        return _handoff(self).draft(
            conversation_id(tracker.sender_id, channel),
            channel,
            tracker.slots,
            territory=place if place in eligibility.territories.by_code else None,
            measures=measures,
            signals=_signals(tracker),
            eligibility=summary,
        )

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        handoff = _handoff(self)
        if tracker.get_slot(SLOT_STEP) != CONFIRMING:
            # Nothing confirmed to send (an old button): offer again rather than store anything.
            return await ActionProposerReferent(self._handoff).run(dispatcher, tracker, domain)
        try:
            from bot.cases.model import new_reference

            # Her reference is fixed before the write: a slow write and its replay keep it.
            draft = replace(
                self._draft(tracker), reference=new_reference(), created_at=dt.datetime.now(dt.timezone.utc)
            )
        except Exception as exc:  # noqa: BLE001
            logger.error("case draft failed: %s", type(exc).__name__)
            _say(dispatcher, [handoff.text("echec")])
            return [SlotSet(SLOT_STEP, CONFIRMING)]
        outbox = _outbox(self)
        task = asyncio.ensure_future(asyncio.to_thread(outbox.submit, draft))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), CREATE_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            # Still being written: never told it failed while it may yet be created.
            _writes[draft.reference] = task
            task.add_done_callback(lambda _t, ref=draft.reference: _forget_later(ref))
            logger.info("case write slow: she is told it is being recorded")
            _say(dispatcher, [handoff.text("en_cours")])
            return [
                SlotSet(SLOT_STEP, f"{RECORDING}:{draft.reference}:{draft.contact.channel}:{draft.priority}")
            ] + _forget_contact()
        except Exception as exc:  # the write itself ended in error: nothing kept, told plainly
            logger.error("case creation failed: %s", type(exc).__name__)
            _say(dispatcher, [handoff.text("echec")])
            return [SlotSet(SLOT_STEP, CONFIRMING)]
        logger.info(
            "case %s (%s)", "pending" if result.pending else "updated" if result.updated else "created", draft.priority
        )
        if (
            draft.contact.channel == "ici"
            and not result.pending
            and tracker.get_latest_input_channel() in live.PUSH_CHANNELS
        ):
            # « Ici, maintenant »: a référent may join this very conversation (connectors/live.py).
            waiting = await _request_live(outbox, result.reference, draft.conversation_id, tracker)
            if waiting is not None:
                _say(dispatcher, [Reply(f"Votre référence : {result.reference}."), Reply(waiting)])
                return [SlotSet(SLOT_STEP, SENT), SlotSet(SLOT_REFERENCE, result.reference)] + _forget_contact()
        _say(
            dispatcher,
            [
                handoff.created(
                    result.reference,
                    result.pending,
                    draft.danger_signals,
                    tracker.slots,
                    updated=result.updated,
                    reachable_here=tracker.get_latest_input_channel() in live.PUSH_CHANNELS,
                )
            ],
        )
        return [SlotSet(SLOT_STEP, SENT), SlotSet(SLOT_REFERENCE, result.reference)] + _forget_contact()


async def _request_live(outbox: Any, reference: str, conversation: str, tracker: Tracker) -> Optional[str]:
    """Her live wait recorded with her case; what she is told, or None (then the usual answer)."""
    channel = tracker.get_latest_input_channel()
    minutes = live.wait_minutes()
    try:
        from bot.live.store import LiveStore

        store = getattr(outbox, "store", None)
        if store is None:
            return None
        await asyncio.to_thread(LiveStore(store).request, reference, conversation, channel, tracker.sender_id, minutes)
    except Exception as exc:  # noqa: BLE001 - her case exists: the usual answer still holds
        logger.error("live request failed: %s", type(exc).__name__)
        return None
    return live.waiting_text(channel, minutes)


def _forget_later(reference: str, after: float = 3600) -> None:
    # Kept a while for her next message, then dropped (the store and the outbox still know).
    loop = asyncio.get_event_loop()
    loop.call_later(after, _writes.pop, reference, None)


# Only the priority travels in the step (not her signals): enough to say the same delay again.
_SIGNALS_FOR_PRIORITY = {"urgent": ["danger"], "high": ["signal"], "normal": []}


def recording_followup(
    tracker: Tracker, handoff: Optional[Handoff] = None, outbox: Any = None
) -> Optional[tuple[List[Reply], List[EventType]]]:
    """Her next message after a slow write: the reference once it is kept, or still « en cours »."""
    step = tracker.get_slot(SLOT_STEP) or ""
    if not step.startswith(RECORDING + ":"):
        return None
    handoff = handoff or default_handoff()
    _, reference, channel, priority = (step.split(":") + ["", "", ""])[:4]
    signals = _SIGNALS_FOR_PRIORITY.get(priority, [])
    task = _writes.get(reference)
    if task is not None and not task.done():
        return [handoff.text("en_cours")], []
    if task is not None and not task.cancelled() and task.exception() is None:
        result = task.result()
        where, ref, updated = ("pending" if result.pending else "created"), result.reference, result.updated
    else:
        # Another process, a restart, or a write that ended in error: ask the store and the outbox.
        from bot.cases.crypto import conversation_id

        try:
            box = outbox or default_outbox_for_lookup()
            where, ref = box.status_of(reference, conversation_id(tracker.sender_id, _channel(tracker)))
        except Exception as exc:  # noqa: BLE001
            logger.warning("case lookup failed: %s", type(exc).__name__)
            return [handoff.text("en_cours")], []
        updated = ref != reference
    _writes.pop(reference, None)
    if where is None:  # the write is over and nothing was kept: now the failure is true
        return [handoff.text("echec")], [SlotSet(SLOT_STEP, None)]
    reply = handoff.created(
        ref,
        where == "pending",
        signals,
        {},
        updated=updated,
        channel=channel or "ici",
        reachable_here=tracker.get_latest_input_channel() in live.PUSH_CHANNELS,
    )
    return [reply], [SlotSet(SLOT_STEP, SENT), SlotSet(SLOT_REFERENCE, ref)]


def default_outbox_for_lookup() -> Any:
    from bot.cases.outbox import default_outbox

    return default_outbox()


class ActionAnnulerDossier(Action):
    """« Annuler ma demande »: the case is withdrawn and its personal data erased."""

    def __init__(self, handoff: Optional[Handoff] = None, outbox: Any = None) -> None:
        self._handoff = handoff
        self._outbox = outbox

    def name(self) -> Text:
        return "action_annuler_dossier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
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
        if result.references or result.status != "done":
            _say(dispatcher, [handoff.text("annulee" if result.references else "rien_a_annuler")])
            return events + [SlotSet(SLOT_REFERENCE, None)]
        # Nothing from this conversation: perhaps from another one. Her reference, then her code word.
        return events + [
            SlotSet(SLOT_REFERENCE, None),
            SlotSet("retrait_reference", None),
            SlotSet("retrait_code", None),
            FollowupAction(RETRAIT_FORM),
        ]


def _too_many(reference: str, now: float) -> bool:
    with _tries_lock:
        recent = [t for t in _failed_tries.get(reference, []) if now - t < 24 * 3600]
        _failed_tries[reference] = recent
        return len(recent) >= MAX_TRIES_PER_REFERENCE


def _failed(reference: str, now: float) -> None:
    with _tries_lock:
        if len(_failed_tries) > 10_000:
            _failed_tries.clear()
        _failed_tries.setdefault(reference, []).append(now)


class ValidateRetraitForm(FormValidationAction):
    """Her reference (checked for its form only), then her code word; « arrêter » ends it."""

    def name(self) -> Text:
        return "validate_retrait_form"

    async def validate_retrait_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        from bot.cases.model import normalize_reference

        text = value if isinstance(value, str) else ""
        if is_stop(text) or _intent(tracker) == "arreter":
            return {"retrait_reference": STOP, "retrait_code": STOP}
        ref = normalize_reference(text)
        if ref is None:
            failures = int(tracker.get_slot(SLOT_FAILURES) or 0) + 1
            if failures >= 3:
                return {"retrait_reference": STOP, "retrait_code": STOP, SLOT_FAILURES: 0}
            _say(dispatcher, [default_handoff().text("retrait_reference_invalide")])
            return {"retrait_reference": None, SLOT_FAILURES: failures}
        return {"retrait_reference": ref, SLOT_FAILURES: 0}

    async def validate_retrait_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = value if isinstance(value, str) else ""
        if is_stop(text) or _intent(tracker) == "arreter":
            return {"retrait_code": STOP}
        return {"retrait_code": text[:200] or None}


class ActionAskRetraitReference(Action):
    def name(self) -> Text:
        return "action_ask_retrait_reference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        _say(dispatcher, [default_handoff().text("retrait_reference")])
        return []


class ActionAskRetraitCode(Action):
    def name(self) -> Text:
        return "action_ask_retrait_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        _say(dispatcher, [default_handoff().text("retrait_code")])
        return []


class ActionArreterRetrait(Action):
    """After an emergency answer during the withdrawal questions: they stop, nothing kept."""

    def name(self) -> Text:
        return "action_arreter_retrait"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("retrait_reference", None),
            SlotSet("retrait_code", None),
        ]


class ActionRetirerParReference(Action):
    """Withdraws the case whose reference and code word she gave; a wrong pair says so plainly."""

    def __init__(self, handoff: Optional[Handoff] = None, outbox: Any = None) -> None:
        self._handoff = handoff
        self._outbox = outbox

    def name(self) -> Text:
        return "action_retirer_par_reference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        handoff = _handoff(self)
        reference, code = tracker.get_slot("retrait_reference"), tracker.get_slot("retrait_code")
        events: List[EventType] = [
            SlotSet("retrait_reference", None),
            SlotSet("retrait_code", None),
            SlotSet(SLOT_DISCRETION, True),
        ]
        if reference == STOP or code == STOP or not reference or not code:
            _say(dispatcher, [handoff.text("abandon")])
            return events
        tries = int(tracker.get_slot("retrait_essais") or 0)
        now = time.monotonic()
        if tries >= MAX_TRIES_PER_CONVERSATION or _too_many(reference, now):
            logger.info("withdrawal by reference: too many tries")
            _say(dispatcher, [handoff.text("retrait_trop")])
            return events
        try:
            store = _outbox(self).store
            case = await asyncio.wait_for(
                asyncio.to_thread(store.withdraw_with_code, reference, code), CREATE_TIMEOUT_SECONDS
            )
        except Exception as exc:  # noqa: BLE001
            logger.error("withdrawal by reference failed: %s", type(exc).__name__)
            _say(dispatcher, [handoff.text("echec")])
            return events
        if case is None:
            _failed(reference, now)
            logger.info("withdrawal by reference: no match")
            _say(dispatcher, [handoff.text("retrait_introuvable")])
            return events + [SlotSet("retrait_essais", tries + 1)]
        logger.info("withdrawal by reference: done")
        _say(dispatcher, [handoff.text("annulee")])
        return events + [SlotSet("retrait_essais", 0)]

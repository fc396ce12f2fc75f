"""The handoff core (bot/handoff.py) and its actions on tracker fixtures, with a fake outbox."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionCreerDossier, ActionProposerReferent, handoff_followup
from bot.cases.outbox import SubmitResult
from bot.handoff import build_handoff, danger_signals

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "trackers"
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
HANDOFF = build_handoff()
PLAN = {
    "contact_canal": "sms",
    "contact_telephone": {"e164": "+33612345678", "mobile": True},
    "contact_creneaux": ["matin"],
    "contact_message": "non",
    "contact_code": "tournesol",
    "contact_prenom": "",
}


def test_only_the_questions_the_channel_needs():
    assert HANDOFF.needed({}) == ["contact_canal", "contact_code", "contact_prenom"]
    assert "contact_telephone" in HANDOFF.needed({"contact_canal": "appel"})
    assert HANDOFF.needed({"contact_canal": "email"}) == [
        "contact_canal",
        "contact_email",
        "contact_code",
        "contact_prenom",
    ]
    assert "contact_creneaux" not in HANDOFF.needed({"contact_canal": "ici"})


@pytest.mark.parametrize(
    "question, text, ok",
    [
        ("contact_telephone", "06 12 34 56 78", True),
        ("contact_telephone", "+262 692 12 34 56", True),
        ("contact_telephone", "01 23 45 67 89", False),  # a landline cannot receive her SMS
        ("contact_telephone", "0612", False),
        ("contact_telephone", "08 00 00 00 00", False),
        ("contact_email", "sarah@exemple.fr", True),
        ("contact_email", "sarah@", False),
        ("contact_code", "tournesol", True),
        ("contact_code", "06 12 34 56 78", False),
        ("contact_prenom", "Mme L.", True),
    ],
)
def test_contact_answers_are_validated(question, text, ok):
    answer = HANDOFF.read(question, text, {"contact_canal": "sms"})
    assert (answer.status == "ok") is ok


def test_no_is_accepted_for_the_optional_ones():
    assert HANDOFF.read("contact_code", "non", {}).value == ""
    assert HANDOFF.plan({**PLAN, "contact_code": ""}).code_word is None


def test_the_confirmation_reads_everything_back():
    text = HANDOFF.confirmation(PLAN).text
    assert "+33612345678" in text and "tournesol" in text and "Le matin" in text and "aucun message" in text


def test_no_reachable_address_means_here():
    plan = HANDOFF.plan({"contact_canal": "appel", "contact_telephone": "inconnu"})
    assert plan.channel == "ici" and plan.address is None


def test_the_offer_says_what_happens_and_the_delay_follows_danger():
    calm = HANDOFF.proposal([]).text
    urgent = HANDOFF.proposal(["danger"]).text
    assert "rien n'est enregistré avant votre accord" in calm and "annuler" in calm
    assert HANDOFF.delays["normal"][1] in calm and HANDOFF.delays["urgent"][1] in urgent


def test_danger_signals_from_emergency_intents():
    assert danger_signals(["saluer", "urgence_enfant", "urgence_danger", "urgence_danger"]) == ["danger", "enfant"]


# -- actions -----------------------------------------------------------------
def _tracker() -> Tracker:
    data = json.loads((FIXTURES / "contact_a_confirmer.json").read_text(encoding="utf-8"))
    return Tracker.from_dict(data)


class FakeOutbox:
    def __init__(self, result=None, error=None):
        self.result, self.error, self.drafts = result, error, []

    def submit(self, draft):
        self.drafts.append(draft)
        if self.error:
            raise self.error
        return self.result


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_the_case_carries_what_the_referent_needs_and_no_raw_id():
    outbox = FakeOutbox(SubmitResult("created", "ABCD2345"))
    messages, slots = _run(ActionCreerDossier(HANDOFF, outbox), _tracker())
    draft = outbox.drafts[0]
    assert draft.contact.address == "+33612345678" and draft.contact.code_word == "tournesol"
    assert draft.territory == "95" and draft.measures == ["auu"]
    assert draft.danger_signals == ["danger"] and draft.priority == "urgent"
    assert draft.eligibility["outcomes"]["auu"] == "probablement_eligible"
    assert draft.eligibility["rules_version"]
    assert draft.eligibility["answers"]["enfants"] == {"nombre": 1, "ages_mois": [24]}  # all her answers, as JSON
    assert draft.eligibility["answers"]["relation"] == "conjoint"
    assert "fixture-contact" not in json.dumps(draft.to_dict())
    assert "ABCD2345" in messages[0]["text"]
    assert slots["dossier_reference"] == "ABCD2345"
    assert slots["contact_telephone"] is None and slots["contact_code"] is None  # gone from the tracker


def test_a_store_outage_keeps_the_request_and_says_so():
    messages, slots = _run(ActionCreerDossier(HANDOFF, FakeOutbox(SubmitResult("pending", "WXYZ6789"))), _tracker())
    assert "WXYZ6789" in messages[0]["text"] and "transmise automatiquement" in messages[0]["text"]
    assert slots["dossier_reference"] == "WXYZ6789"


def test_a_failure_is_told_plainly_with_the_numbers():
    messages, slots = _run(ActionCreerDossier(HANDOFF, FakeOutbox(error=OSError("disk full"))), _tracker())
    text = messages[0]["text"]
    assert "3919" in text and "17" in text and "114" in text
    assert slots["contact_etape"] == "confirmation"  # she may try again: nothing was lost


def test_nothing_is_sent_without_the_confirmation_step():
    tracker = _tracker()
    tracker.slots["contact_etape"] = None
    outbox = FakeOutbox(SubmitResult("created", "ABCD2345"))
    _run(ActionCreerDossier(HANDOFF, outbox), tracker)
    assert outbox.drafts == []


def test_yes_to_the_offer_opens_the_form_and_no_stores_nothing():
    tracker = _tracker()
    tracker.slots["contact_etape"] = "proposee"
    replies, events = handoff_followup(tracker, "affirmer", HANDOFF)
    assert events[-1]["name"] == "contact_form"
    replies, events = handoff_followup(tracker, "nier", HANDOFF)
    assert "3919" in replies[0].text


def test_the_offer_when_a_case_exists_gives_its_reference():
    tracker = _tracker()
    tracker.slots["dossier_reference"] = "ABCD2345"
    messages, _ = _run(ActionProposerReferent(HANDOFF), tracker)
    assert "ABCD2345" in messages[-1]["text"]


def test_here_on_a_channel_nobody_can_write_to_is_never_promised():
    # REST cannot carry a référent's words to her: she is told so, with the 3919 and her reference.
    here = {"contact_canal": "ici"}
    pushed = HANDOFF.created("ABCD2345", False, [], here).text
    rest = HANDOFF.created("ABCD2345", False, [], here, reachable_here=False).text
    assert HANDOFF.channels["ici"] in pushed
    assert HANDOFF.channels["ici"] not in rest and "3919" in rest and "ABCD2345" in rest
    by_phone = HANDOFF.created("ABCD2345", False, [], PLAN, reachable_here=False).text
    assert HANDOFF.channels["sms"] in by_phone  # a phone or an e-mail is unchanged

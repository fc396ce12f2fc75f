"""The NLU component: the detector overrides the model, never the other way round."""

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.danger_override import DangerOverride, forced_intent


def _message(text, intent, confidence=0.9):
    m = Message(data={TEXT: text})
    m.set(INTENT, {"name": intent, "confidence": confidence})
    m.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": confidence}])
    return m


def _run(text, intent, confidence=0.9):
    component = DangerOverride()
    return component.process([_message(text, intent, confidence)])[0]


def test_danger_forces_the_emergency_intent_over_a_confident_model():
    m = _run("il me frappe, et l'aide d'urgence c'est combien ?", "auu_montant", 0.98)
    assert m.get(INTENT)["name"] == "urgence_danger"
    assert m.get(INTENT_RANKING_KEY)[0]["name"] == "urgence_danger"
    assert m.get("danger_signals")[0]["kind"] == "danger"


def test_danger_overrides_the_nlu_fallback():
    assert _run("jsui enfermee il a pri mon tel", "nlu_fallback", 0.4).get(INTENT)["name"] == "urgence_danger"


def test_specific_signal_wins_over_generic_model_emergency():
    assert _run("je veux en finir", "urgence_danger").get(INTENT)["name"] == "urgence_suicide"


def test_model_emergency_kept_when_detector_is_only_generic():
    assert forced_intent("urgence_agresseur_present", ["danger"]) is None
    assert forced_intent("auu_info", ["danger"]) == "urgence_danger"
    assert forced_intent("urgence_enfant", ["danger"]) == "urgence_danger"


def test_harmless_text_keeps_the_model_intent():
    m = _run("il me tue de rire", "hors_sujet")
    assert m.get(INTENT)["name"] == "hors_sujet"
    assert m.get("danger_signals") is None

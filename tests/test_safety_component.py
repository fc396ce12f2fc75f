"""The SafetyClassifier NLU component: safety has the last word over the topic model, both ways.

Run here with the detector only (no trained safety model), as the component runs when a
model file is missing: a sure signal still forces the emergency answer.
"""

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safety import DANGER_KEY, SAFETY_KEY, SafetyClassifier, forced_intent


def _run(text, ranking):
    m = Message(data={TEXT: text})
    m.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    m.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    return SafetyClassifier({}, None, None, model=None).process([m])[0]


def test_danger_forces_the_emergency_intent_over_a_confident_topic():
    m = _run("il me frappe, et l'aide d'urgence c'est combien ?", [("auu_montant", 0.98)])
    assert m.get(INTENT)["name"] == "urgence_danger"
    assert m.get(INTENT_RANKING_KEY)[0]["name"] == "urgence_danger"
    assert m.get(DANGER_KEY)[0]["kind"] == "danger"
    assert m.get(SAFETY_KEY)["source"] == "detector"


def test_danger_overrides_the_nlu_fallback():
    m = _run("jsui enfermee il a pri mon tel", [("nlu_fallback", 0.4)])
    assert m.get(INTENT)["name"] == "urgence_danger"


def test_an_unconfirmed_emergency_guess_gives_the_practical_answer_with_its_numbers():
    # « il va descendre » is not danger: the topic model's guess is not enough on its own.
    m = _run("il va descendre, je peux avoir un logement ?", [("urgence_danger", 0.7), ("logement_durable", 0.5)])
    assert m.get(INTENT)["name"] == "logement_durable"
    assert all(not r["name"].startswith("urgence_") for r in m.get(INTENT_RANKING_KEY))
    assert "danger" in m.get(SAFETY_KEY)["net"]


def test_an_unconfirmed_guess_with_no_confident_topic_falls_back():
    m = _run("il va descendre", [("urgence_danger", 0.7), ("menu", 0.1)])
    assert m.get(INTENT)["name"] == "nlu_fallback"


def test_harmless_text_keeps_the_topic_and_carries_no_signal():
    m = _run("il me tue de rire avec ses blagues", [("hors_sujet", 0.9)])
    assert m.get(INTENT)["name"] == "hors_sujet"
    assert m.get(DANGER_KEY) is None
    assert m.get(SAFETY_KEY)["kind"] is None


def test_specific_kind_wins_and_generic_danger_keeps_he_is_here():
    assert forced_intent("urgence_danger", ["suicide"]) == "urgence_suicide"
    assert forced_intent("urgence_agresseur_present", ["danger"]) is None
    assert forced_intent("auu_info", ["danger"]) == "urgence_danger"
    assert forced_intent("urgence_enfant", ["danger"]) == "urgence_danger"
    assert forced_intent("auu_info", []) is None

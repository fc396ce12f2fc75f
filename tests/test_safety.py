"""Safety (issue 9), without Rasa: the detector's sure and risk signals, the decision, the line, the cost."""

from __future__ import annotations

import time

import pytest
from scipy import sparse

from bot.danger import AGGRESSOR_PRESENT, CHILD, DANGER, SUICIDE, detect, scan, told_not_now, writer_is_minor
from bot.safety.decision import FORCE, FORCE_WHEN_PAST, NUMBERS_NEEDED, VETO, decide, numbers_given, safety_line, unsure
from bot.safety.model import LABELS, SafetyModel, syntax_tokens

# The false alarms the issue lists: everyday French that once got the emergency answer.
FALSE_ALARMS = [
    "je risque de finir à la rue",
    "je compte finir ma formation",
    "mon frère est à la maison",
    "je sais pas parler anglais",
    "il va descendre",
    "je ne peux pas téléphoner car je suis au travail, on peut continuer par écrit ?",
    "au secours ce formulaire est incompréhensible",
    "je veux en finir avec le passé et tourner la page",
    "je vais me jeter sur le canapé et dormir",
    "mes partiels vont me tuer",
    "j'ai la corde au cou avec ce crédit",
    "mon ex menace de se suicider si je ne reviens pas",
    "les hommes aussi ont droit à l'aide ?",
    "je suis enfermée dans un mariage qui ne marche plus",
    "ma fille dort à côté, je tape doucement",
]

# Misses the issue lists: each must be sure, of the right kind.
MISSES = [
    ("j'ai avalé toute ma boîte de somnifères", SUICIDE),
    ("jai pris toute la plaquette de cachets", SUICIDE),
    ("il y a une corde dans le garage, je pense qu'à ça", SUICIDE),
    ("ils seraient mieux sans moi", SUICIDE),
    ("j'ai 14 ans et mon beau-père me frappe", CHILD),
    ("ma mère me tape", CHILD),
    ("il m'a enfermée dehors sur le balcon, il fait froid", DANGER),
    ("il est devant chez moi alors que le juge lui a interdit de m'approcher", DANGER),
    ("il va la tuer", DANGER),
    ("je suis un homme et ma femme me frappe", DANGER),
    ("le père de mes enfants va me tuer", DANGER),
]


@pytest.mark.parametrize("text", FALSE_ALARMS)
def test_everyday_french_is_not_an_emergency(text):
    assert detect(text) is None, [s.rule for s in scan(text)]


@pytest.mark.parametrize("text,kind", MISSES)
def test_cries_once_missed_are_caught(text, kind):
    signal = detect(text)
    assert signal is not None and signal.kind == kind, scan(text)


@pytest.mark.parametrize(
    "text",
    [
        "il me battait quand on vivait ensemble, je suis partie l'an dernier : je peux encore porter plainte ?",
        "mon ex m'a menacée de mort il y a huit mois, je peux encore porter plainte ?",
        "il y a deux ans mon mari m'enfermait dans la chambre, aujourd'hui je suis partie, comment refaire mes papiers",
        "si un jour il me frappe encore, qu'est-ce que je dois faire ?",
        "il y a cinq ans j'ai fait une tentative de suicide, aujourd'hui ça va, je voudrais un suivi psy",
    ],
)
def test_past_or_hypothetical_violence_is_a_risk_not_an_emergency(text):
    signals = scan(text)
    assert signals and not any(s.sure for s in signals), signals


def test_violence_now_after_a_past_one_is_still_an_emergency():
    assert detect("il y a deux ans il m'a frappée, et là maintenant il est devant chez moi, aidez-moi").kind == DANGER


def test_a_minor_writing_about_themselves_is_recognised():
    assert writer_is_minor("j'ai 15 ans et mon beau-père me frappe")
    assert writer_is_minor("au collège personne sait que ma mère me tape")
    assert not writer_is_minor("j'ai 35 ans et mon mari me frappe")


def test_the_detector_is_linear_and_bounded():
    for text in ("sur le pont " * 9000, "enfant " * 15000, "a" * 100_000, "il me " * 20000):
        start = time.perf_counter()
        scan(text)
        assert time.perf_counter() - start < 0.05, len(text)


def test_a_sure_signal_forces_whatever_the_model_thinks():
    decision = decide(scan("il a un couteau"), {"aucun": 0.99}, "garde_enfants", [{"confidence": 0.99}])
    assert decision.kind == DANGER and decision.source == "detector"


def test_the_model_overrules_only_the_detectors_generic_alarm_words():
    for text in ("au secours mon gâteau est raté", "ma proprio va me tuer si je paie pas"):
        calm = decide(scan(text), {"aucun": VETO + 0.1}, "hors_sujet", [{"confidence": 0.9}])
        assert calm.kind is None and DANGER in calm.net, text  # the practical answer, with the numbers
        assert decide(scan(text), {"aucun": VETO - 0.2}, "hors_sujet", [{"confidence": 0.9}]).kind == DANGER
    # A scene is never overruled, however sure the model.
    assert decide(scan("il m'étrangle"), {"aucun": 0.99}, "hors_sujet", [{"confidence": 0.9}]).kind == DANGER


def test_a_joke_marker_turns_alarm_words_into_a_risk():
    assert [s.sure for s in scan("ma proprio va me tuer si je paie pas le loyer lol")] == [False]
    assert [s.sure for s in scan("au secours la pluie 😂")] == [False]
    assert scan("au secours il me frappe")[0].sure


@pytest.mark.parametrize(
    "text,expected",
    [
        ("il me frappait quand on vivait ensemble, je peux avoir un logement ?", True),
        ("si ça recommence, il y a des foyers à Lille ?", True),
        ("il m'a frappée l'an dernier, ce soir ça va. c'est quoi le pack ?", True),
        ("mdr ce boulot va me tuer", True),
        ("il recommence à me frapper", False),
        ("ce soir il va me tuer", False),
    ],
)
def test_told_not_now(text, expected):
    assert told_not_now(text) is expected


def test_a_message_told_not_now_needs_a_surer_model():
    probs = {label: 0.0 for label in LABELS} | {SUICIDE: FORCE + 0.05}
    assert decide([], probs, "soutien_psy", [{"confidence": 0.9}], not_now=True).kind is None
    probs[SUICIDE] = FORCE_WHEN_PAST + 0.01
    assert decide([], probs, "soutien_psy", [{"confidence": 0.9}], not_now=True).kind == SUICIDE


def test_the_model_forces_when_it_is_confident_enough():
    probs = {label: 0.0 for label in LABELS} | {SUICIDE: FORCE + 0.01}
    assert decide([], probs, "garde_enfants", [{"confidence": 0.9}]).kind == SUICIDE
    probs[SUICIDE] = FORCE - 0.05
    decision = decide([], probs, "garde_enfants", [{"confidence": 0.9}])
    assert decision.kind is None and SUICIDE in decision.net


def test_danger_with_a_child_at_risk_gets_the_answer_with_the_119():
    decision = decide(scan("il a un couteau et il menace de frapper les enfants"), {}, "x", [])
    assert decision.kind == CHILD and "119" in numbers_given(decision) and "17" in numbers_given(decision)


def test_an_unsure_assistant_shows_the_line_on_a_smaller_risk():
    probs = {SUICIDE: 0.1}
    assert unsure("nlu_fallback", [])
    assert SUICIDE in decide([], probs, "nlu_fallback", []).net
    assert SUICIDE not in decide([], probs, "plainte", [{"confidence": 0.95}, {"confidence": 0.01}]).net


def test_the_line_gives_the_numbers_that_fit():
    line = safety_line([SUICIDE])
    assert "3114" in line and "17" in line and "114" in line and "3919" in line and "119" not in line
    assert "119" in safety_line([CHILD])


def test_every_emergency_answer_gives_what_its_kind_needs():
    for kind in (DANGER, AGGRESSOR_PRESENT, SUICIDE, CHILD):
        decision = decide([], {kind: 0.99}, "x", [])
        assert NUMBERS_NEEDED[decision.kind] <= numbers_given(decision)


class _Morph(dict):
    def get(self, key):  # spaCy's MorphAnalysis.get returns a list
        return super().get(key, [])


class _Tok:
    def __init__(self, i, text, pos, dep, lemma, morph=None):
        self.i, self.lower_, self.pos_, self.dep_, self.lemma_ = i, text, pos, dep, lemma
        self.head = self
        self.morph = morph or _Morph()


def test_syntax_tells_who_does_what_to_whom():
    # « il veut me jeter »: the subject of « veut » carries to « jeter », and « me » is its object.
    il = _Tok(0, "il", "PRON", "nsubj", "il")
    veut = _Tok(1, "veut", "VERB", "ROOT", "vouloir", _Morph(Tense=["Pres"]))
    me = _Tok(2, "me", "PRON", "obj", "me")
    jeter = _Tok(3, "jeter", "VERB", "xcomp", "jeter", _Morph(VerbForm=["Inf"]))
    il.head, me.head, jeter.head = veut, jeter, veut
    tokens = syntax_tokens([il, veut, me, jeter])
    assert "v_3_vouloir" in tokens and "o_3_jeter" in tokens and "v_3_jeter" in tokens
    # « je veux me jeter »: the first person does it to herself.
    je = _Tok(0, "je", "PRON", "nsubj", "je")
    je.head = veut
    assert "o_1_jeter" in syntax_tokens([je, veut, me, jeter])


def test_the_model_learns_and_round_trips():
    examples = [
        ("il me frappe fort", DANGER),
        ("il va me tuer", DANGER),
        ("je veux mourir", SUICIDE),
        ("je vais me suicider", SUICIDE),
        ("il est à côté je peux pas parler", AGGRESSOR_PRESENT),
        ("il est là, je chuchote", AGGRESSOR_PRESENT),
        ("il frappe mon fils", CHILD),
        ("mon bébé a été secoué", CHILD),
        ("comment avoir une crèche", "aucun"),
        ("bonjour", "aucun"),
        ("où dormir ce soir", "aucun"),
        ("c'est quoi le pack", "aucun"),
    ] * 3
    model = SafetyModel.loads(SafetyModel.train(examples).dumps())
    probs = model.probabilities("je veux mourir")
    assert max(probs, key=probs.get) == SUICIDE and abs(sum(probs.values()) - 1) < 1e-6
    # The fast path reads the same probabilities as sklearn's own.
    texts = ["je veux mourir", "il est là", "une crèche svp"]
    blocks = model._features(texts, [None] * 3)
    expected = model.classifier.predict_proba(sparse.hstack(blocks).tocsr())
    got = model.probabilities_many(texts)
    classes = list(model.classifier.classes_)
    for row, probs in zip(expected, got, strict=True):
        assert all(abs(probs[c] - row[i]) < 1e-9 for i, c in enumerate(classes))
    for text, probs in zip(texts, got, strict=True):
        one = model.probabilities(text)
        assert all(abs(one[c] - probs[c]) < 1e-9 for c in classes), text


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_the_fast_tfidf_row_is_sklearns(analyzer):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.safety.model import tfidf_row

    kwargs = {"ngram_range": (2, 5), "min_df": 1} if analyzer == "char_wb" else {"ngram_range": (1, 2)}
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, **kwargs).fit(
        ["il me frappe fort", "je veux une crèche", "aide aide aide d'urgence", "bonjour"]
    )
    for text in ("aide aide aide aide", "il me frappe", "zzz inconnu", "", "crèche crèche pour bébé"):
        expected = vectorizer.transform([text]).toarray()
        assert abs(tfidf_row(vectorizer, text).toarray() - expected).max() < 1e-12, text


def test_a_minor_s_suicide_answer_carries_the_119_too():
    import pathlib

    import yaml

    from bot.safety.decision import SafetyDecision

    assert "119" in numbers_given(SafetyDecision("suicide", "detector", (), minor=True))
    assert "119" not in numbers_given(SafetyDecision("suicide", "detector", ()))
    domain = yaml.safe_load((pathlib.Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))
    variants = domain["responses"]["utter_urgence_suicide"]
    for_minors = [v for v in variants if v.get("condition")]
    assert for_minors and all("119" in v["text"] and "3114" in v["text"] for v in for_minors)


def test_hiding_while_he_searches_gets_the_short_answer_with_the_114():
    hiding = "je suis cachée dans le placard, il me cherche dans la maison"
    decision = decide(scan(hiding), {"aucun": 0.5}, "nlu_fallback")
    assert decision.kind == AGGRESSOR_PRESENT and {"114", "17"} <= numbers_given(decision)


def test_children_there_while_she_is_attacked_get_the_119():
    decision = decide(scan("i ka bat mwen douvan timoun-la"), {"aucun": 0.5}, "nlu_fallback")
    assert decision.kind == CHILD and "119" in numbers_given(decision)


def test_a_minor_at_risk_beside_a_suicide_gets_the_119_in_the_same_answer():
    from bot.safety.decision import SafetyDecision, also_at_risk

    decision = SafetyDecision(SUICIDE, "detector", (CHILD,))
    assert also_at_risk(decision) == CHILD and {"3114", "119"} <= numbers_given(decision)
    child = SafetyDecision(CHILD, "model", (SUICIDE,))
    assert also_at_risk(child) == SUICIDE and {"119", "3114"} <= numbers_given(child)
    assert also_at_risk(SafetyDecision(SUICIDE, "detector", ())) is None

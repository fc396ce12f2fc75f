"""The linear topic model blended with DIET (bot/topics/model.py)."""

import pytest

from bot.topics.model import TopicModel, blend

EXAMPLES = {
    "auu_montant": ["l'aide d'urgence c'est combien", "combien on touche avec l'aide", "le montant de l'aide svp"],
    "auu_demarche": [
        "comment demander l'aide d'urgence",
        "où faire la demande d'aide",
        "quels papiers pour la demande",
    ],
    "hebergement_urgence": ["je ne sais pas où dormir ce soir", "une place au 115 cette nuit", "dormir dehors ce soir"],
}


def _model() -> TopicModel:
    texts = [t for ts in EXAMPLES.values() for t in ts]
    intents = [i for i, ts in EXAMPLES.items() for _ in ts]
    return TopicModel.train(texts, intents)


def test_new_wordings_and_sms_spelling_reach_their_topic():
    model = _model()
    for text, intent in [
        ("c combien laide", "auu_montant"),
        ("ou je fais la demande", "auu_demarche"),
        ("je dors ou cette nuit", "hebergement_urgence"),
    ]:
        probs = model.probabilities(text)
        assert max(probs, key=probs.get) == intent, (text, probs)


def test_the_model_survives_being_saved():
    model = _model()
    again = TopicModel.loads(model.dumps())
    assert again.probabilities("le montant ?") == model.probabilities("le montant ?")
    with pytest.raises(TypeError):
        TopicModel.loads(b"\x80\x04N.")  # a pickled None is not a topic model


def test_one_intent_is_not_a_model():
    with pytest.raises(ValueError):
        TopicModel.train(["a", "b"], ["menu", "menu"])


def test_blend_weights_both_models_and_ranks_best_first():
    ranked = blend({"menu": 0.9, "eligibilite": 0.1}, {"menu": 0.2, "eligibilite": 0.8}, diet_weight=0.3)
    assert [name for name, _ in ranked] == ["eligibilite", "menu"]
    assert ranked[0][1] == pytest.approx(0.3 * 0.1 + 0.7 * 0.8)
    # An intent DIET left out of its ranking still counts through the linear model.
    assert dict(blend({"menu": 1.0}, {"plainte": 1.0}, 0.3))["plainte"] == pytest.approx(0.7)


def test_the_fast_probabilities_are_sklearns():
    import numpy as np
    from scipy import sparse

    from bot.safety.model import class_probabilities

    model = _model()
    for text in ("c combien laide", "je dors ou", "bonjour"):
        normalized = [text]
        blocks = [model.words.transform(normalized), model.chars.transform(normalized)]
        np.testing.assert_allclose(
            class_probabilities(model.classifier, blocks),
            model.classifier.predict_proba(sparse.hstack(blocks).tocsr()),
            rtol=1e-9,
        )

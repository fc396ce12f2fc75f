"""Retiring a held-out set into training (scripts/retire_heldout.py)."""

import importlib.util

from .conftest import ROOT

_spec = importlib.util.spec_from_file_location("retire_heldout", ROOT / "scripts" / "retire_heldout.py")
retire = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(retire)


def test_gift_or_loan_questions_train_the_answer_that_explains_the_loan():
    assert retire.training_intent("auu_conditions", "c'est un prêt ou un don l'aide ?") == "auu_montant"
    assert retire.training_intent("auu_info", "il faudra la rembourser ?") == "auu_montant"
    assert retire.training_intent("auu_conditions", "je suis prête à porter plainte, ça compte ?") == "auu_conditions"
    assert retire.training_intent("plainte", "un prêt de la banque à son nom") == "plainte"

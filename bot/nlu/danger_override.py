"""Rasa NLU component: the deterministic danger detector has the last word.

Placed last in the pipeline (after the FallbackClassifier), so an emergency is
never lost to a low model confidence.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.danger import AGGRESSOR_PRESENT, DANGER, INTENT_FOR_KIND, detect_all

logger = logging.getLogger(__name__)
URGENT_INTENTS = set(INTENT_FOR_KIND.values())
DANGER_KEY = "danger_signals"


def forced_intent(model_intent: Optional[str], kinds: List[str]) -> Optional[str]:
    """The intent to force, or None to keep the model's.

    A specific signal (child, suicide, aggressor present) always wins; the generic
    danger signal keeps only the model's « he is here » (also an emergency, with
    the silent SMS 114 first), never a child or suicide guess the text does not show.
    """
    if not kinds:
        return None
    primary = kinds[0]
    if primary == DANGER and model_intent in (INTENT_FOR_KIND[DANGER], INTENT_FOR_KIND[AGGRESSOR_PRESENT]):
        return None
    return INTENT_FOR_KIND[primary]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class DangerOverride(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "DangerOverride":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            signals = detect_all(text)
            if not signals:
                continue
            kinds = [s.kind for s in signals]
            # Rule names only, never the text: they may go to a case file later.
            message.set(DANGER_KEY, [{"kind": s.kind, "rule": s.rule} for s in signals], add_to_output=True)
            model_intent = (message.get(INTENT) or {}).get("name")
            intent = forced_intent(model_intent, kinds)
            if intent is None:
                continue
            logger.info("danger detector forced intent %s (rule %s)", intent, signals[0].rule)
            forced = {"name": intent, "confidence": 1.0}
            ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != intent]
            message.set(INTENT, forced, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [forced, *ranking], add_to_output=True)
        return messages

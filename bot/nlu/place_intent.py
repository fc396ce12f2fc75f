"""Rasa NLU component: a short message that names a place is an answer about where she lives.

« 95 », « Marseille », « je suis à Cergy »: a model cannot learn every town of
France, the territory resolver can.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.config import settings
from bot.knowledge.territory import cached_territories
from bot.text import basic_normalize

PLACE_INTENT = "donner_lieu"
MAX_WORDS = 5
# The model's intents that a place name alone may override.
OVERRIDABLE = {
    "nlu_fallback",
    "hors_sujet",
    "pack_territoire",
    "saluer",
    "affirmer",
    "nier",
    "au_revoir",
    "remercier",
    "arreter",
    None,
}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PlaceIntent(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "PlaceIntent":
        return cls()

    def __init__(self) -> None:
        self.territories = cached_territories(str(settings().knowledge_dir))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if len(basic_normalize(text).split()) > MAX_WORDS:
                continue
            if (message.get(INTENT) or {}).get("name") not in OVERRIDABLE:
                continue
            found = self.territories.resolve(text)
            if not found.found:
                continue
            place = found.departement
            forced = {"name": PLACE_INTENT, "confidence": 1.0}
            message.set(INTENT, forced, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [forced, *(message.get(INTENT_RANKING_KEY) or [])], add_to_output=True)
            if place is None:
                continue  # a shared name (« Saint-Denis »): action_territoire asks which one
            entity = {
                "entity": "departement",
                "value": place.code,
                "start": 0,
                "end": len(text),
                "extractor": "PlaceIntent",
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages

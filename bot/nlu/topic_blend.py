"""Rasa NLU component: DIET's ranking blended with a linear topic model (bot/topics).

Right after DIETClassifier and before FallbackClassifier, so the fallback and the safety
decision read the blended ranking. Trained by `rasa train` on the same NLU examples as
DIET, from the spaCy parses SpacyNLP made.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.topics.model import DIET_WEIGHT, TopicModel, blend

logger = logging.getLogger(__name__)
MODEL_FILE = "topic_model.pkl"
SPACY_DOC = "text_spacy_doc"  # set by Rasa's SpacyNLP earlier in the pipeline
RANKING_LENGTH = 10


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TopicBlend(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"diet_weight": DIET_WEIGHT}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TopicBlend":
        return cls(config, model_storage, resource)

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[TopicModel] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.model_storage = model_storage
        self.resource = resource
        self.model = model

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        self.model = TopicModel.train(
            [m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples], [m.get(SPACY_DOC) for m in examples]
        )
        logger.info("topic model: trained on %d examples", len(examples))
        with self.model_storage.write_to(self.resource) as folder:
            (Path(folder) / MODEL_FILE).write_bytes(self.model.dumps())
        return self.resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TopicBlend":
        model = None
        try:
            with model_storage.read_from(resource) as folder:
                model = TopicModel.loads((Path(folder) / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError, OSError):
            logger.error("topic model missing from the trained model: DIET alone")
        return cls(config, model_storage, resource, model)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not self.model or not text:
                continue
            diet = {str(r["name"]): float(r.get("confidence") or 0.0) for r in message.get(INTENT_RANKING_KEY) or []}
            if not diet and message.get(INTENT):
                diet = {str(message.get(INTENT)["name"]): float(message.get(INTENT).get("confidence") or 0.0)}
            ranked = blend(diet, self.model.probabilities(text, message.get(SPACY_DOC)), self.config["diet_weight"])
            ranking = [{"name": n, "confidence": c} for n, c in ranked[:RANKING_LENGTH]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

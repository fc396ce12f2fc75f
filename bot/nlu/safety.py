"""Rasa NLU component: the safety decision has the last word on every message.

Last in the pipeline. It trains its own classifier (bot/safety) at `rasa train` from
data/safety/ and from the emergency intents' NLU examples, runs the deterministic
detector, and forces the emergency intent when either is sure, so that a topic never
out-votes a cry for help. When neither is sure but the message carries a risk, it
marks the message so that the reply starts with the line of numbers (actions read
`safety.net`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.danger import AGGRESSOR_PRESENT, DANGER, INTENT_FOR_KIND, KIND_FOR_INTENT, scan, told_not_now, writer_is_minor
from bot.safety.corpus import corpus_fingerprint, load_corpus
from bot.safety.decision import SafetyDecision, also_at_risk, decide
from bot.safety.model import SafetyModel
from bot.safety.training_data import label_for_nlu_example

logger = logging.getLogger(__name__)
SAFETY_KEY = "safety"
DANGER_KEY = "danger_signals"
MODEL_FILE = "safety_model.pkl"
SPACY_DOC = "text_spacy_doc"  # set by Rasa's SpacyNLP earlier in the pipeline
FALLBACK_CONFIDENCE = 0.3  # the FallbackClassifier's threshold in config.yml


def forced_intent(model_intent: Optional[str], kinds: List[str]) -> Optional[str]:
    """The emergency intent to force, or None to keep the model's.

    A specific kind (child, suicide, aggressor present) always wins; generic danger keeps
    the model's « he is here » (also an emergency, with the silent SMS 114 first), never
    a child or suicide guess the text does not show.
    """
    if not kinds:
        return None
    primary = kinds[0]
    if primary == DANGER and model_intent in (INTENT_FOR_KIND[DANGER], INTENT_FOR_KIND[AGGRESSOR_PRESENT]):
        return None
    return INTENT_FOR_KIND[primary]


def _spacy_parser(model_name: str):  # pragma: no cover - exercised by `rasa train`
    import spacy

    nlp = spacy.load(model_name)
    return lambda text: nlp(text.lower())  # SpacyNLP parses lower-cased text too


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"corpus": "data/safety", "spacy_model": "fr_core_news_md"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # The corpus is not Rasa training data: its content must still trigger retraining.
        folder = Path(config.get("corpus", "data/safety"))
        return corpus_fingerprint(folder) if folder.exists() else None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyClassifier":
        return cls(config, model_storage, resource)

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[SafetyModel] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.model_storage = model_storage
        self.resource = resource
        self.model = model

    # -- training ----------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        examples = load_corpus(Path(self.config["corpus"]))
        for message in training_data.intent_examples:
            text, intent = message.get(TEXT), message.get(INTENT)
            label = label_for_nlu_example(text, intent) if text else None
            if label:
                examples.append((text, label))
        logger.info("safety model: training on %d messages", len(examples))
        self.model = SafetyModel.train(examples, parse=_spacy_parser(self.config["spacy_model"]))
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
    ) -> "SafetyClassifier":
        model = None
        try:
            with model_storage.read_from(resource) as folder:
                model = SafetyModel.loads((Path(folder) / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError, OSError):
            # The detector alone still guards every message.
            logger.error("safety model missing from the trained model: detector only")
        return cls(config, model_storage, resource, model)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # -- every message -------------------------------------------------------
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._decide(message)
        return messages

    def _decide(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        signals = scan(text)
        probabilities = self.model.probabilities(text, message.get(SPACY_DOC)) if self.model and text else None
        intent_data = message.get(INTENT) or {}
        model_intent = intent_data.get("name")
        ranking = message.get(INTENT_RANKING_KEY) or []
        minor = writer_is_minor(text)
        decision = decide(
            signals,
            probabilities,
            model_intent,
            ranking,
            minor=minor,
            words=len(text.split()),
            not_now=told_not_now(text),
        )
        if decision.kind is None and model_intent in KIND_FOR_INTENT:
            # The topic model guessed an emergency that neither safety decider is sure of (« il va
            # descendre »): the practical answer comes instead, starting with that kind's numbers.
            decision = SafetyDecision(
                None, "", tuple(dict.fromkeys([*decision.net, KIND_FOR_INTENT[model_intent]])), minor
            )
            ranking = [r for r in ranking if r.get("name") not in KIND_FOR_INTENT]
            best = ranking[0] if ranking and float(ranking[0].get("confidence") or 0) >= FALLBACK_CONFIDENCE else None
            message.set(INTENT, best or {"name": "nlu_fallback", "confidence": 1.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            logger.info("safety: topic model's emergency guess not confirmed, safety line instead")
        # Rule names and kinds only, never the text: they may go to a case file later.
        if signals:
            message.set(
                DANGER_KEY, [{"kind": s.kind, "rule": s.rule, "sure": s.sure} for s in signals], add_to_output=True
            )
        message.set(
            SAFETY_KEY,
            {"kind": decision.kind, "source": decision.source, "net": list(decision.net), "minor": minor},
            add_to_output=True,
        )
        # Slots the emergency answers' variants read (domain.yml): who writes, and what else is at risk.
        if minor:
            _set_entity(message, "auteur", "mineur")
        also = also_at_risk(decision)
        if also:
            _set_entity(message, "aussi", also)
        if decision.kind is None:
            return
        intent = forced_intent(model_intent, [decision.kind])
        if intent is None:
            return
        logger.info("safety: forced intent %s (%s)", intent, decision.source)
        forced = {"name": intent, "confidence": 1.0}
        rest = [r for r in ranking if r.get("name") != intent]
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [forced, *rest], add_to_output=True)


def _set_entity(message: Message, name: str, value: str) -> None:
    entities = [e for e in (message.get(ENTITIES) or []) if e.get("entity") != name]
    entity = {"entity": name, "value": value, "start": 0, "end": 0, "extractor": "SafetyClassifier"}
    message.set(ENTITIES, [*entities, entity], add_to_output=True)

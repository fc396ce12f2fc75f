"""The questionnaire as the conversation sees it: what to ask, how to read it, what to say at the end.

One object holding the rules, the questions, the barème and the territories,
so actions stay thin adapters from the tracker.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

from bot.answers import MAX_FAILED_ANSWERS, Reply
from bot.config import Settings, settings
from bot.eligibility.loader import Question, Questionnaire, RuleSet, load_questions, load_rules
from bot.eligibility.questions import Answer, Situation, clean_slots, measures_in, needed_questions, read_answer
from bot.eligibility.rules import Context, MeasureResult, evaluate
from bot.knowledge.amounts import load_bareme
from bot.knowledge.loader import Button
from bot.knowledge.territory import Territories, load_territories

SKIP_PAYLOAD = "/refuser_repondre"
STOP_PAYLOAD = "/arreter"
RESUME_PAYLOAD = "/eligibilite"


def question_reply(q: Question, texts: Mapping[str, str], failures: int = 0, resumed: bool = False) -> Reply:
    """The question; with an example after one failure; explained after two. Skip and stop always offered."""
    lines = [texts["reprise"]] if resumed else []
    if failures == 0:
        lines.append(q.text)
    elif failures < MAX_FAILED_ANSWERS:
        lines += [texts["incompris_reponse"], q.text, q.example]
    else:
        lines += [q.explanation, texts["passer_possible"], q.text, q.example]
    buttons = [Button(o.label, o.label) for o in q.options]
    buttons += [Button(texts["passer"], SKIP_PAYLOAD), Button(texts["arreter"], STOP_PAYLOAD)]
    return Reply("\n".join(lines), tuple(buttons))


@dataclass
class Eligibility:
    rules: RuleSet
    questionnaire: Questionnaire
    territories: Territories
    bareme_path: Any
    clock: Callable[[], dt.date] = dt.date.today

    # -- what to ask ---------------------------------------------------------
    def measures_for(self, text: str, previous_intent: str | None) -> tuple[str, ...]:
        return measures_in(text, previous_intent)

    def situation(self, slots: Mapping[str, Any]) -> Situation:
        return Situation.from_slots(clean_slots(slots, self.questionnaire, set(self.territories.by_code)))

    def needed(self, measures: tuple[str, ...], slots: Mapping[str, Any]) -> list[str]:
        return needed_questions(measures, self.situation(slots), self.questionnaire, self.rules, self.clock())

    def intro(self, how_many: int) -> Reply:
        return Reply(self.questionnaire.texts["intro"].format(nombre=how_many))

    def ask(self, question_id: str, failures: int = 0, resumed: bool = False) -> Reply:
        return question_reply(self.questionnaire[question_id], self.questionnaire.texts, failures, resumed)

    def offer_resume(self) -> Reply:
        texts = self.questionnaire.texts
        return Reply(
            texts["reprise_proposee"],
            (Button(texts["reprendre"], RESUME_PAYLOAD), Button(texts["autre_aide"], "/menu")),
        )

    def stopped(self) -> Reply:
        texts = self.questionnaire.texts
        return Reply(texts["arret"], (Button(texts["reprendre"], RESUME_PAYLOAD), Button(texts["autre_aide"], "/menu")))

    # -- reading an answer ---------------------------------------------------
    def read(self, question_id: str, text: str) -> Answer:
        bareme = load_bareme(self.bareme_path, self.clock())
        return read_answer(self.questionnaire[question_id], text, self.territories, self.clock(), bareme.smic_net)

    # -- the result ----------------------------------------------------------
    def results(self, measures: tuple[str, ...], slots: Mapping[str, Any]) -> list[MeasureResult]:
        ctx = Context(self.rules, load_bareme(self.bareme_path, self.clock()), self.territories, self.clock())
        return evaluate(measures, self.situation(slots), ctx)

    def answers_for_case(self, slots: Mapping[str, Any]) -> dict[str, Any]:
        """Her validated answers (skipped ones included), as JSON values, for a case she consented to."""
        cleaned = clean_slots(slots, self.questionnaire, set(self.territories.by_code))
        return {k: v for k, v in cleaned.items() if v is not None}

    def explained(self, measures: tuple[str, ...], answers: Mapping[str, Any]) -> list[str]:
        """The result of each measure with its reasons, as the victim read it (for the console)."""
        return [self.render(r) for r in self.results(measures, answers)]

    def summary(self, measures: tuple[str, ...], slots: Mapping[str, Any]) -> list[Reply]:
        texts = self.questionnaire.texts
        replies = [Reply(texts["resultat_intro"])]
        for result in self.results(measures, slots):
            replies.append(Reply(self.render(result)))
        replies.append(
            Reply(
                texts["resultat_fin"],
                (
                    Button(texts["referent"], "/parler_humain"),
                    Button(texts["effacer"], "/effacer"),
                    Button(texts["autre_aide"], "/menu"),
                ),
            )
        )
        return replies

    def render(self, result: MeasureResult) -> str:
        measure = self.rules.measures[result.measure]
        lines = [f"{measure.title} : {self.rules.outcome_labels[result.outcome]}."]
        lines += [f"• {measure.texts[f.text_id].format(**dict(f.values))}" for f in result.reasons]
        lines += [f"→ {measure.texts[f.text_id].format(**dict(f.values))}" for f in result.steps]
        return "\n".join(lines)


def build_eligibility(config: Settings | None = None, clock: Callable[[], dt.date] = dt.date.today) -> Eligibility:
    config = config or settings()
    return Eligibility(
        rules=load_rules(config.eligibility_dir / "regles.yml"),
        questionnaire=load_questions(config.eligibility_dir / "questions.yml"),
        territories=load_territories(config.knowledge_dir),
        bareme_path=config.eligibility_dir / "auu_bareme.yml",
        clock=clock,
    )


@lru_cache(maxsize=1)
def default_eligibility() -> Eligibility:
    return build_eligibility()

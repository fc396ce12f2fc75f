"""One decision per message, from the detector's signals and the safety model's probabilities.

- A sure detector signal, or a model probability at or above FORCE, forces the emergency
  answer of that kind, whatever topic the intent model saw; unless the model gives « no
  emergency » VETO or more, when the detector's signal only starts the reply with the numbers.
- Otherwise, when the message carries a risk (a detector signal told in the past or too vague,
  or a model probability at or above NET_WHEN_UNSURE while the assistant is unsure, or at or
  above NET), the reply starts with one compact line of the numbers that fit.
The thresholds were set by cross-validation on the training corpus (bot/safety/evaluate.py
`--cv`), never on a held-out set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from bot.danger import AGGRESSOR_PRESENT, CHILD, DANGER, KINDS, SUICIDE, DangerSignal

NONE = "aucun"  # the safety model's label for « no emergency » (bot/safety/model.py)
FORCE = 0.75
NET = 0.20
NET_WHEN_UNSURE = 0.08
SWITCH_TO_SUICIDE = 0.35
FORCE_WHEN_PAST = 0.92
# The safety model, when this sure there is no emergency, keeps a detector signal from forcing
# the emergency answer (« au secours mon gâteau est raté 😭 », « ces papiers vont me tuer lol »):
# the reply still starts with the numbers. Chosen by cross-validation (scripts/safety_cv.py).
VETO = 0.5
# Only the detector's generic alarm words can be overruled, never a specific scene (a child
# hurt, blows, a weapon, pills taken): « au secours », « il va me tuer », « je vais mourir »,
# and a minor who mentions fear or blows.
VETOABLE = frozenset({"appel_au_secours", "menace_de_mort", "peur_pour_sa_vie", "mineure"})
# « à plus » is not a cry for help: the model alone never forces on one or two words.
MIN_WORDS_TO_FORCE = 3
# The intent model is unsure below this confidence, or when its first two intents are this close.
UNSURE_CONFIDENCE = 0.6
UNSURE_MARGIN = 0.15


@dataclass(frozen=True)
class SafetyDecision:
    kind: Optional[str]  # the emergency to answer now, or None
    source: str  # "detector", "model" or "" — safe to log
    net: tuple[str, ...] = ()  # kinds whose numbers start an unsure reply
    minor: bool = False  # someone under 18 is writing about themselves

    @property
    def urgent(self) -> bool:
        return self.kind is not None


def unsure(intent: Optional[str], ranking: Sequence[Mapping[str, object]]) -> bool:
    if intent in (None, "nlu_fallback"):
        return True
    confidences = [float(r.get("confidence") or 0.0) for r in ranking[:2]]  # type: ignore[arg-type]
    if not confidences:
        return True
    if confidences[0] < UNSURE_CONFIDENCE:
        return True
    return len(confidences) > 1 and confidences[0] - confidences[1] < UNSURE_MARGIN


def decide(
    signals: Sequence[DangerSignal],
    probabilities: Mapping[str, float] | None,
    intent: Optional[str] = None,
    ranking: Sequence[Mapping[str, object]] = (),
    minor: bool = False,
    words: int = MIN_WORDS_TO_FORCE,
    not_now: bool = False,
) -> SafetyDecision:
    probabilities = probabilities or {}
    threshold = NET_WHEN_UNSURE if unsure(intent, ranking) else NET
    at_risk = {s.kind for s in signals} | {k for k in KINDS if probabilities.get(k, 0.0) >= threshold}
    sure = [s for s in signals if s.sure]
    model_kind = max(KINDS, key=lambda k: probabilities.get(k, 0.0))
    if sure and all(s.rule in VETOABLE for s in sure) and probabilities.get(NONE, 0.0) >= VETO:
        # Worded like an alarm, read as a joke or a figure of speech: the model has the last word.
        sure = []
    if any(s.kind == SUICIDE for s in sure):
        # Its answer has the 3114 and the 17 and 114 too: it covers danger told in the same breath.
        kind, source = SUICIDE, "detector"
    elif sure:
        kind, source = sure[0].kind, "detector"
        if kind == DANGER and any(s.kind == AGGRESSOR_PRESENT for s in sure):
            # She is hiding or he is beside her: the short answer, SMS 114 first (it has the 17 too).
            kind = AGGRESSOR_PRESENT
    elif words >= MIN_WORDS_TO_FORCE and probabilities.get(model_kind, 0.0) >= (
        FORCE_WHEN_PAST if signals or not_now else FORCE
    ):
        # A risk the detector read as past or hypothetical, or a message told in the past or as
        # a joke (« il m'a frappée une dernière fois à Noël, je suis partie »), needs a surer model.
        kind, source = model_kind, "model"
    else:
        kind, source = None, ""
    # Danger and a child, or danger and suicide: the answer that gives every number needed
    # (the child's answer has the 17 and 114 too; the suicide answer has the 17 and 114).
    if kind in (DANGER, AGGRESSOR_PRESENT):
        if any(s.kind == SUICIDE for s in signals) or probabilities.get(SUICIDE, 0.0) >= SWITCH_TO_SUICIDE:
            kind = SUICIDE
        elif any(s.kind == CHILD for s in signals) or probabilities.get(CHILD, 0.0) >= max(
            threshold, probabilities.get(SUICIDE, 0.0)
        ):
            kind = CHILD
    net = tuple(k for k in KINDS if k in at_risk and k != kind)
    return SafetyDecision(kind, source, net, minor=minor)


# The compact line: danger's numbers always, the 3114 and the 119 when they fit, and the 3919.
def safety_line(kinds: Sequence[str]) -> str:
    parts = ["en danger : 17 ou 112, SMS au 114 si vous ne pouvez pas parler"]
    if SUICIDE in kinds:
        parts.append("idées suicidaires : 3114")
    if CHILD in kinds:
        parts.append("enfant ou mineur en danger : 119")
    parts.append("écoute 24 h/24 : 3919")
    return "Si besoin : " + " · ".join(parts) + "."


# The numbers each emergency answer gives (domain.yml), and the numbers each kind needs:
# what the held-out report counts as « the right number ».
NUMBERS_IN_ANSWER = {
    DANGER: {"17", "112", "114"},
    AGGRESSOR_PRESENT: {"114", "17", "112"},
    SUICIDE: {"3114", "17", "114", "112"},
    CHILD: {"17", "112", "114", "119"},
}
NUMBERS_NEEDED = {DANGER: {"17", "114"}, AGGRESSOR_PRESENT: {"114"}, SUICIDE: {"3114"}, CHILD: {"119"}}


def also_at_risk(decision: SafetyDecision) -> Optional[str]:
    """The other kind whose number the emergency answer must carry too (domain.yml, slot `aussi`):
    a minor at risk beside a suicidal message (« mon fils de 16 ans a pris des médicaments »),
    or suicide at risk beside a child's or a danger answer (« occupe-toi d'eux »)."""
    if decision.kind == SUICIDE and CHILD in decision.net:
        return CHILD
    if decision.kind in (CHILD, DANGER) and SUICIDE in decision.net:
        return SUICIDE
    return None


def numbers_given(decision: SafetyDecision) -> set[str]:
    """Every number the reply carries: the emergency answer's, or the line's, and the extra line's."""
    if decision.kind:
        # A minor's suicide answer has the 119 too (domain.yml, condition auteur = mineur).
        extra = {"119"} if decision.kind == SUICIDE and decision.minor else set()
        also = also_at_risk(decision)
        if also:
            extra |= NUMBERS_NEEDED[also]
        return set(NUMBERS_IN_ANSWER[decision.kind]) | extra
    if not decision.net:
        return set()
    given = {"17", "112", "114", "3919"}
    if SUICIDE in decision.net:
        given.add("3114")
    if CHILD in decision.net:
        given.add("119")
    return given

"""The safety line: numbers first when the assistant is unsure and the message carries a risk.

The NLU's SafetyClassifier (bot/nlu/safety.py) puts its decision in the parse data under
`safety`; these helpers only read it. Emergency answers themselves are domain responses.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.safety.decision import SafetyDecision, safety_line


def decision_of(tracker: Tracker) -> SafetyDecision:
    data = (tracker.latest_message or {}).get("safety") or {}
    return SafetyDecision(
        data.get("kind"), data.get("source") or "", tuple(data.get("net") or ()), bool(data.get("minor"))
    )


def _first_to_speak(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    if dispatcher.messages:
        return False
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return False
        if event.get("event") == "user":
            return True
    return True


def safety_line_once(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Starts the reply with the line of numbers when this message carries an unsure risk."""
    decision = decision_of(tracker)
    if decision.kind is None and decision.net and _first_to_speak(dispatcher, tracker):
        dispatcher.utter_message(text=safety_line(decision.net))

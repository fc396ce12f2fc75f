"""Nouveau départ: domain core (no Rasa import outside bot/nlu)."""

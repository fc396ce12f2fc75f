"""Custom Rasa NLU components: thin wrappers over the pure detectors in bot/."""

"""rasa-sdk custom actions: thin adapters from the tracker to bot/."""

"""Knowledge base: what the assistant says, each fact with its source and date."""

from bot.knowledge.loader import KnowledgeBase, KnowledgeError, Topic, load_knowledge

__all__ = ["KnowledgeBase", "KnowledgeError", "Topic", "load_knowledge"]

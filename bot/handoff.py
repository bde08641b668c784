"""When the worker chat offers a union officer (转人工): the assistant refused, or the topic is high-stakes
(wages owed, injury, dismissal: the words in bot/data/high_stakes.txt)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def high_stakes_words() -> tuple[str, ...]:
    text = resources.files("bot").joinpath("data").joinpath("high_stakes.txt").read_text(encoding="utf-8")
    return tuple(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def is_high_stakes(question: str) -> bool:
    """Whether the question is about wages owed, an injury or a dismissal."""
    return any(w in question for w in high_stakes_words())


def offer_handoff(question: str, refused: bool) -> bool:
    """Offer a union officer after a refusal or on a high-stakes topic."""
    return refused or is_high_stakes(question)

"""Resolve short follow-up questions ("那试用期呢？", "他们是怎么做的") against earlier turns of a session.

With an LLM, a condensing prompt rewrites the follow-up as a standalone question; without one (or when the
LLM fails) the key terms of the previous question are carried forward into the retrieval query.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from bot.store import Turn
from bot.zh import data_lines, nouns, places_in, topic_words, words

logger = logging.getLogger(__name__)

MAX_FOLLOWUP_CHARS = 16  # longer questions are taken as standalone unless they point back
MAX_REFERRING_CHARS = 24
MAX_CARRIED_TERMS = 8
MAX_BARE_CHARS = 10  # a question this short that names no topic of its own continues the conversation
_PUNCT = re.compile(r"[\s，,。.！!？?；;：:、“”\"'‘’（）()]+")

Condenser = Callable[[str, Sequence[Turn]], "str | None"]


@lru_cache(maxsize=1)
def cues() -> dict[str, tuple[str, ...]]:
    """Sections of bot/data/followup.txt: starts, refers, ends, drop."""
    out: dict[str, list[str]] = {}
    section = ""
    for ln in data_lines("followup.txt"):
        if ln.startswith("[") and ln.endswith("]"):
            section = ln[1:-1]
            out[section] = []
        else:
            out[section].append(ln)
    return {k: tuple(v) for k, v in out.items()}


def is_followup(question: str) -> bool:
    """Whether a question is too short or too referring to stand on its own."""
    q = _PUNCT.sub("", question)
    c = cues()
    if not q:
        return False
    if len(q) <= MAX_FOLLOWUP_CHARS and q.startswith(c["starts"]):
        return True
    if len(q) <= MAX_REFERRING_CHARS and any(w in q for w in c["refers"]):
        return True
    if len(q) <= MAX_BARE_CHARS and not nouns(q):  # "没休完怎么办？", "过了怎么办？": about nothing named
        return True
    return len(q) <= 8 and q.endswith(c["ends"])


def key_terms(text: str, limit: int = MAX_CARRIED_TERMS) -> list[str]:
    """The topic of a question (its nouns, else its content words), in order, without question words and
    follow-up cues: what carries over when the follow-up changes the aspect ("试用期最长多久？" then "那工资呢？"
    is about probation wages, not the longest probation)."""
    c = cues()
    skip = set(c["drop"]) | set(c["refers"]) | set(c["starts"])
    out: list[str] = []
    for w in topic_words(text) or words(text):
        if w not in skip and w not in out and len(w) >= 2:
            out.append(w)
    return out[:limit]


def carry_forward(question: str, history: Sequence[Turn]) -> str:
    """The follow-up plus the previous question's key terms that it does not already mention."""
    base = next((t for t in reversed(history) if not t.refused), history[-1])
    own = set(key_terms(question))
    carried = [t for t in key_terms(base.resolved_question) if t not in own and t not in question]
    if places_in(question):  # a new place replaces the earlier one ("那北仑呢？" after a question about 扬州)
        carried = [t for t in carried if not places_in(t)]
    if not carried:
        return question
    return f"{question.strip()} {' '.join(carried)}"


def resolve(question: str, history: Sequence[Turn], condense: Condenser | None = None) -> str:
    """The question to retrieve with: unchanged when standalone, else condensed (LLM) or carried forward."""
    if not history or not is_followup(question):
        return question
    if condense is not None:
        rewritten = condense(question, history)
        if rewritten:
            return rewritten
        logger.info("condensing failed; carrying forward key terms instead")
    return carry_forward(question, history)

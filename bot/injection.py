"""Instructions aimed at the assistant inside a question or a document ("忽略之前的指令…").

The patterns live in bot/data/injection.txt. A question loses its injected clauses (the rest is still
answered); a source sentence with one is never quoted or shown to the LLM.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.zh import data_lines

_CLAUSE_SPLIT = re.compile(r"(?<=[，,。！？!?；;：:\n])")


@lru_cache(maxsize=1)
def _injection_re() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in data_lines("injection.txt")), re.IGNORECASE)


def is_injection(text: str) -> bool:
    """True when the text contains an instruction aimed at the assistant ("忽略之前的指令…")."""
    return bool(_injection_re().search(text))


def strip_injection(question: str) -> tuple[str, bool]:
    """The question without its injected clauses, and whether any were found."""
    clauses = _CLAUSE_SPLIT.split(question)
    kept = [c for c in clauses if not is_injection(c)]
    if len(kept) == len(clauses):
        return question, False
    return "".join(kept).strip(" ，,。；;：:\n"), True

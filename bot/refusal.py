"""When to refuse: injected instructions, questions outside the domain, and too little evidence.

Vocabulary lives in data files (bot/data/injection.txt, out_of_domain.txt, domain.txt); the evidence
thresholds are below, with how they were chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.prompts import Prompts
from bot.types import Hit
from bot.zh import tokenize

# Short reasons inserted into prompts/refusal.md ("抱歉，{reason}。…").
REASONS: dict[str, str] = {
    "out_of_domain": "这个问题不在我能回答的范围内",
    "no_evidence": "我在知识库中没有找到能可靠回答这个问题的依据，不能凭空作答",
    "invalid": "我只能回答与劳动权益和工会工作有关的问题，不能执行其他指令",
}

_CLAUSE_SPLIT = re.compile(r"(?<=[，,。！？!?；;：:\n])")


def _data_lines(name: str) -> list[str]:
    text = resources.files("bot").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@lru_cache(maxsize=1)
def _injection_re() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in _data_lines("injection.txt")), re.IGNORECASE)


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


def out_of_domain(question: str) -> bool:
    """True when the question names an out-of-domain topic (weather, phones, poems…) and no domain word."""
    q = question.lower()
    if any(w in q for w in _data_lines("domain.txt")):
        return False
    return any(w in q for w in _data_lines("out_of_domain.txt"))


@dataclass(frozen=True)
class Thresholds:
    """Evidence needed to answer (see `has_evidence`)."""

    min_dense: float = 0.80
    min_coverage: float = 0.50
    strong_dense: float = 0.86


def coverage(question: str, hits: list[Hit], top: int = 3) -> float:
    """Share of the question's own words (weighted by length) found in at least one of the top passages."""
    terms = {t for t in tokenize(question) if len(t) >= 2}
    if not terms:
        return 0.0
    texts = [h.passage.text.lower() + h.passage.title.lower() for h in hits[:top]]
    total = sum(len(t) for t in terms)
    found = sum(len(t) for t in terms if any(t in x for x in texts))
    return found / total


def has_evidence(question: str, hits: list[Hit], thr: Thresholds = Thresholds()) -> bool:
    """Whether the retrieved passages support an answer.

    The best passage needs dense (cosine) similarity >= min_dense and the top passages must cover at least
    min_coverage of the question's words; a very close passage (>= strong_dense) needs only half that coverage.
    """
    if not hits:
        return False
    dense = max((h.dense_score or 0.0) for h in hits[:3])
    cov = coverage(question, hits)
    if dense >= thr.strong_dense:
        return cov >= thr.min_coverage / 2
    return dense >= thr.min_dense and cov >= thr.min_coverage


def refusal_text(prompts: Prompts, reason: str) -> str:
    """The kind refusal message for a reason key of REASONS."""
    return prompts.render("refusal", reason=REASONS[reason])

"""The evaluation figures defined in ../shared/eval/README.md: hit@k, MRR@10, refusal and evidence, latency.

Every figure is given for the whole file, per `kind`, and for the two halves of the file (odd and even
rows, 1-based), so that a change which helps only the half it was developed on shows.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.zh import squash


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    evidence: tuple[str, ...]
    kind: str
    row: int = 0  # 1-based position among the file's questions

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)

    @property
    def half(self) -> str:
        return "odd" if self.row % 2 else "even"


def read_questions(path: Path) -> list[Question]:
    """Rows of a JSONL file with id, question, evidence (list) and kind."""
    rows: list[Question] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                rows.append(Question(str(d["id"]), d["question"], tuple(d.get("evidence") or ()), d.get("kind", ""),
                                     len(rows) + 1))
            except (ValueError, KeyError) as e:
                raise ValueError(f"{path}:{n}: not a question row ({e})") from e
    return rows


def contains_evidence(text: str, evidence: Sequence[str]) -> bool:
    """Whitespace removed from both sides, any evidence string inside the text."""
    t = squash(text)
    return any(squash(e) in t for e in evidence)


def first_rank(texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based position of the first text that contains evidence, None if none does."""
    return next((i for i, t in enumerate(texts, 1) if contains_evidence(t, evidence)), None)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))] if s else float("nan")


def _groups(questions: Sequence[Question]) -> dict[str, dict[str, list[Question]]]:
    kinds = sorted({q.kind for q in questions})
    return {
        "by_kind": {k: [q for q in questions if q.kind == k] for k in kinds},
        "halves": {h: [q for q in questions if q.half == h] for h in ("odd", "even")},
    }


def _latency(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.median(values), 1), round(percentile(values, 95), 1)


def retrieval_figures(questions: Sequence[Question], search: Callable[[str], Sequence[str]]) -> dict[str, Any]:
    """hit@1/5/10, MRR@10 and search latency, overall, per kind and per half; search returns passage texts."""
    search(questions[0].question if questions else "工会")  # warm-up: measure a warm service
    ranks: dict[str, int | None] = {}
    latencies: list[float] = []
    for q in questions:
        if not q.answerable:
            continue
        t = time.perf_counter()
        texts = search(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        ranks[q.id] = first_rank(list(texts)[:10], q.evidence)

    def figures(subset: Sequence[Question]) -> dict[str, Any]:
        return _rank_figures([ranks[q.id] for q in subset if q.id in ranks])

    out = figures(questions)
    out["search_ms_p50"], out["search_ms_p95"] = _latency(latencies)
    for name, groups in _groups(questions).items():
        out[name] = {k: figures(qs) for k, qs in groups.items() if any(q.answerable for q in qs)}
    out["misses"] = [q.id for q in questions if q.id in ranks and (ranks[q.id] is None or ranks[q.id] > 5)]  # type: ignore[operator]
    return out


def _rank_figures(ranks: Sequence[int | None]) -> dict[str, Any]:
    n = len(ranks)
    if not n:
        return {"n": 0}
    hit = lambda k: round(sum(1 for r in ranks if r is not None and r <= k) / n, 4)  # noqa: E731
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return {"n": n, "hit@1": hit(1), "hit@5": hit(5), "hit@10": hit(10), "mrr@10": round(mrr, 4)}


@dataclass(frozen=True)
class _Judged:
    question: Question
    refused: bool
    answer_evidence: bool
    citation_evidence: bool


def answer_figures(questions: Sequence[Question], ask: Callable[[str], Any]) -> dict[str, Any]:
    """refusal_acc, false_refusal, answer/citation evidence and answer latency (overall, per kind and per half);
    ask returns an Answer."""
    if questions:
        ask(questions[0].question)  # warm-up
    judged: list[_Judged] = []
    latencies: list[float] = []
    for q in questions:
        t = time.perf_counter()
        a = ask(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        judged.append(_Judged(q, bool(a.refused), q.answerable and contains_evidence(a.text, q.evidence),
                              q.answerable and any(contains_evidence(c.passage.text, q.evidence) for c in a.citations)))
    by_id = {j.question.id: j for j in judged}
    out = _answer_shares(judged)
    out["answer_ms_p50"], out["answer_ms_p95"] = _latency(latencies)
    for name, groups in _groups(questions).items():
        out[name] = {k: _answer_shares([by_id[q.id] for q in qs]) for k, qs in groups.items()}
    out["wrong_refusals"] = [j.question.id for j in judged if j.refused != (not j.question.answerable)]
    out["no_answer_evidence"] = [j.question.id for j in judged if j.question.answerable and not j.answer_evidence]
    return out


def _answer_shares(judged: Sequence[_Judged]) -> dict[str, Any]:
    none = [j for j in judged if not j.question.answerable]
    ans = [j for j in judged if j.question.answerable]
    share = lambda x, n: round(x / n, 4) if n else None  # noqa: E731
    return {
        "refusal_acc": share(sum(j.refused for j in none), len(none)),
        "false_refusal": share(sum(j.refused for j in ans), len(ans)),
        "answer_has_evidence": share(sum(j.answer_evidence for j in ans), len(ans)),
        "citation_has_evidence": share(sum(j.citation_evidence for j in ans), len(ans)),
    }

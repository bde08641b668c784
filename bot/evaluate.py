"""The evaluation figures defined in ../shared/eval/README.md: hit@k, MRR@10, refusal and evidence, latency."""

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

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


def read_questions(path: Path) -> list[Question]:
    """Rows of a JSONL file with id, question, evidence (list) and kind."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                rows.append(Question(str(d["id"]), d["question"], tuple(d.get("evidence") or ()), d.get("kind", "")))
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


def retrieval_figures(questions: Sequence[Question], search: Callable[[str], Sequence[str]]) -> dict[str, Any]:
    """hit@1/5/10, MRR@10 and search latency, overall and per kind; search returns passage texts, best first."""
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
    out = _rank_figures([ranks[q.id] for q in questions if q.id in ranks])
    out["search_ms_p50"] = round(statistics.median(latencies), 1) if latencies else None
    out["search_ms_p95"] = round(percentile(latencies, 95), 1) if latencies else None
    kinds = sorted({q.kind for q in questions if q.answerable})
    out["by_kind"] = {k: _rank_figures([ranks[q.id] for q in questions if q.kind == k and q.id in ranks]) for k in kinds}
    out["misses"] = [q.id for q in questions if q.id in ranks and (ranks[q.id] is None or ranks[q.id] > 5)]  # type: ignore[operator]
    return out


def _rank_figures(ranks: Sequence[int | None]) -> dict[str, Any]:
    n = len(ranks)
    if not n:
        return {"n": 0}
    hit = lambda k: round(sum(1 for r in ranks if r is not None and r <= k) / n, 4)  # noqa: E731
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return {"n": n, "hit@1": hit(1), "hit@5": hit(5), "hit@10": hit(10), "mrr@10": round(mrr, 4)}


def answer_figures(questions: Sequence[Question], ask: Callable[[str], Any]) -> dict[str, Any]:
    """refusal_acc, false_refusal, answer/citation evidence and answer latency; ask returns an Answer."""
    if questions:
        ask(questions[0].question)  # warm-up
    none = [q for q in questions if not q.answerable]
    answerable = [q for q in questions if q.answerable]
    refused_none = refused_ans = ans_ev = cit_ev = 0
    latencies: list[float] = []
    wrong: list[str] = []
    for q in questions:
        t = time.perf_counter()
        a = ask(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        if not q.answerable:
            refused_none += bool(a.refused)
            if not a.refused:
                wrong.append(q.id)
            continue
        refused_ans += bool(a.refused)
        ans_ev += contains_evidence(a.text, q.evidence)
        cit_ev += any(contains_evidence(c.passage.text, q.evidence) for c in a.citations)
        if a.refused:
            wrong.append(q.id)
    share = lambda x, n: round(x / n, 4) if n else None  # noqa: E731
    return {
        "refusal_acc": share(refused_none, len(none)),
        "false_refusal": share(refused_ans, len(answerable)),
        "answer_has_evidence": share(ans_ev, len(answerable)),
        "citation_has_evidence": share(cit_ev, len(answerable)),
        "answer_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "answer_ms_p95": round(percentile(latencies, 95), 1) if latencies else None,
        "wrong_refusals": wrong,
    }

"""Rank fusion: weighted reciprocal-rank fusion of several rankings."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float] | None = None, k: int = 60) -> dict[int, float]:
    """Fused score per item: sum of weight / (k + rank), rank 1-based; higher is better."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for r, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + w / (k + r)
    return scores

"""A second look at the fused ranking: a passage with a sentence that answers the question's words moves up.

Dense and BM25 scores judge a passage (or its best window or lay question) as a whole; the extractive answer
judges its sentences: the question's words and their legal wording, idf among the candidates, a number when
one is asked for, the condition a stated duration meets (bot/answer.py). Adding the best sentence's score to
the fused score puts the article whose sentence settles the question ahead of a neighbour that is only about
the same topic.

SENTENCE_WEIGHT: on the odd rows of ../shared/eval/dev2.jsonl, MRR@10 0.794 with none, 0.804 at 0.2, 0.815 at
0.5, 0.788 at 1.0. 0.5 lowered both held-out probes in tests/data (written from the corpus by helpers:
MRR 0.958 -> 0.947 and 0.826 -> 0.808); 0.2 raised all of: dev2 odd 0.794 -> 0.804 and even 0.861 -> 0.880,
dev.jsonl odd 0.795 -> 0.861 and even 0.858 -> 0.882, the probes 0.958 -> 0.964 and 0.826 -> 0.831. The
smaller weight is kept: it keeps most of the gain and lets meaning (dense, lay questions) still lead.

Search results are reranked; an extractive answer is not: it scores the same sentences itself and also
quotes the best sentence of the fused top passage, and the two signals together were better (reranked
input lowered dev2 law answer evidence on both halves, 35 -> 33 and 36 -> 33 of 45).
"""

from __future__ import annotations

from dataclasses import replace

from bot.answer import candidates
from bot.types import Hit

DEPTH = 20  # fused passages looked at again
SENTENCE_WEIGHT = 0.2  # the best sentence's share against the fused score, both scaled to the best of the list


def rerank(question: str, hits: list[Hit]) -> list[Hit]:
    """The hits reordered by fused score / best fused score + SENTENCE_WEIGHT x best sentence / best of all
    sentences; a hit's score becomes that sum on the fused scale, so scores still fall along the list."""
    if len(hits) < 2 or hits[0].score <= 0:
        return hits
    best: dict[int, float] = {}
    for c in candidates(question, hits, max_passages=len(hits)):
        best[c.hit_rank] = max(best.get(c.hit_rank, 0.0), c.score)
    most = max(best.values(), default=0.0)
    if most <= 0:
        return hits
    top = hits[0].score
    combined = [h.score / top + SENTENCE_WEIGHT * best.get(i, 0.0) / most for i, h in enumerate(hits)]
    order = sorted(range(len(hits)), key=lambda i: -combined[i])
    return [replace(hits[i], score=combined[i] * top / (1 + SENTENCE_WEIGHT)) for i in order]

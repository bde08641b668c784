"""Retrieval quality on the labelled dev set over the reference corpus, with the real default embedder."""

import pytest

from bot.evaluate import read_questions, retrieval_figures
from tests.conftest import DEV_SET


@pytest.mark.slow
def test_dev_set_hit_at_5_stays_above_floor(corpus_assistant):
    if not DEV_SET.exists():
        pytest.skip(f"dev set not found at {DEV_SET}")
    questions = read_questions(DEV_SET)
    figures = retrieval_figures(questions, lambda q: [h.passage.text for h in corpus_assistant.search(q, 10)])
    assert figures["hit@5"] >= 0.90, figures
    assert figures["by_kind"]["law"]["hit@5"] >= 0.70, figures

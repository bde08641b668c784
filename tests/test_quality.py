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


@pytest.mark.slow
def test_refusal_decisions_on_questions_written_apart_from_the_dev_set(corpus_assistant):
    """Held-out probe: our own out-of-scope and answerable questions (tests/data/probe.jsonl)."""
    import json
    from pathlib import Path

    rows = [json.loads(x) for x in (Path(__file__).parent / "data" / "probe.jsonl").read_text(encoding="utf-8").splitlines() if x]
    wrong = [r["question"] for r in rows if corpus_assistant.ask(r["question"]).refused == r["answerable"]]
    assert len(wrong) <= 1, wrong


@pytest.mark.slow
def test_dev_set_answer_figures(corpus_assistant):
    from bot.evaluate import answer_figures

    figures = answer_figures(read_questions(DEV_SET), corpus_assistant.ask)
    assert figures["refusal_acc"] == 1.0 and figures["false_refusal"] <= 0.05, figures
    assert figures["citation_has_evidence"] >= 0.90 and figures["answer_has_evidence"] >= 0.80, figures


@pytest.mark.slow
def test_every_kiosk_topic_gets_an_on_topic_short_answer(corpus_assistant):
    """The kiosk's topic buttons ask fixed questions; each must be answered, on topic, in the short form."""
    import re
    from pathlib import Path

    html = (Path(__file__).resolve().parents[1] / "bot" / "web" / "static" / "kiosk.html").read_text(encoding="utf-8")
    questions = re.findall(r'data-question="([^"]+)"', html)
    expected = {"拖欠": "拖欠", "签劳动合同": "订立书面劳动合同", "工伤": "工伤", "年休假": "年休假",
                "加入工会": "参加和组织工会", "驿站": "驿站"}
    assert len(questions) == len(expected)
    for q in questions:
        key = next(k for k in expected if k in q)
        a = corpus_assistant.ask(q, short=True)
        assert not a.refused, q
        assert any(expected[key] in c.passage.text for c in a.citations), (q, a.text)
        assert len(re.sub(r"\[\d+\]", "", a.text)) <= 130, a.text

"""Retrieval quality on the labelled dev set over the reference corpus, with the real default embedder."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.evaluate import answer_figures, contains_evidence, first_rank, read_questions, retrieval_figures
from tests.conftest import DEV2_SET, DEV_SET

PROBES = Path(__file__).parent / "data"


def probe(name: str) -> list[dict[str, Any]]:
    """The rows of a held-out probe in tests/data."""
    return [json.loads(x) for x in (PROBES / name).read_text(encoding="utf-8").splitlines() if x]


def evidence(row: dict[str, Any]) -> list[str]:
    """A probe row's evidence strings (one string or a list)."""
    return [row["evidence"]] if isinstance(row["evidence"], str) else row["evidence"]


def mrr(assistant: Any, rows: list[dict[str, Any]]) -> float:
    """MRR@10 of the rows' evidence in the assistant's search results."""
    ranks = [first_rank([h.passage.text for h in assistant.search(r["question"], 10)], evidence(r)) for r in rows]
    return sum(1 / r for r in ranks if r) / len(rows)


def refusals(assistant: Any, rows: list[dict[str, Any]]) -> tuple[list[str], int]:
    """The answerable questions refused, and how many of those to refuse were refused."""
    answers = [(r, assistant.ask(r["question"])) for r in rows]
    return ([r["question"] for r, a in answers if r["answerable"] and a.refused],
            sum(a.refused for r, a in answers if not r["answerable"]))


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
    rows = probe("probe.jsonl")
    wrong = [r["question"] for r in rows if corpus_assistant.ask(r["question"]).refused == r["answerable"]]
    assert len(wrong) <= 1, wrong


@pytest.mark.slow
def test_questions_that_ask_for_a_figure_the_corpus_lacks_are_refused(corpus_assistant):
    """Held-out probe for bot/asks.py (tests/data/probe_asks.jsonl, written from the corpus apart from the eval
    sets): 60 answerable questions asking for amounts, counts, durations, times, names, lists; 40 asking for
    ones the corpus never states. Measured when the rule was added: 0 of 60 refused, 17 of 40 refused."""
    rows = probe("probe_asks.jsonl")
    wrongly_refused, refused = refusals(corpus_assistant, rows)
    assert len(wrongly_refused) <= 1, wrongly_refused
    assert refused >= 15, refused


@pytest.mark.slow
def test_answers_quote_the_condition_a_stated_duration_or_age_meets(corpus_assistant):
    """Held-out probe for bot/quantities.py (tests/data/probe_durations.jsonl: 50 questions in which a worker
    states a duration or age, written from the statutes by a helper who never saw the evaluation sets, each
    with the threshold clause that decides it). Measured when the rule was added: answer evidence 40 of 50,
    37 without the duration bonus."""
    rows = probe("probe_durations.jsonl")
    quoted = sum(contains_evidence(corpus_assistant.ask(r["question"]).text, evidence(r)) for r in rows)
    assert quoted >= 38, quoted


@pytest.mark.slow
def test_colloquial_questions_find_and_quote_their_article(corpus_assistant):
    """Held-out probe in real lay wording (tests/data/probe_lay.jsonl: 60 questions with dialect words, typos and
    rambling stories, written from the statutes by a helper who never saw the evaluation sets or the lay
    questions). Measured when added: search MRR@10 0.871 (0.857 without the reranking), answer evidence 48."""
    rows = probe("probe_lay.jsonl")
    found = mrr(corpus_assistant, rows)
    quoted = sum(contains_evidence(corpus_assistant.ask(r["question"]).text, evidence(r)) for r in rows)
    assert found >= 0.84 and quoted >= 45, (found, quoted)


@pytest.mark.slow
def test_a_second_lay_probe_finds_and_quotes_its_article(corpus_assistant):
    """Held-out probe (tests/data/probe_lay2.jsonl: 90 workers' questions over 16 statutes, 80 articles, in
    search-box, situation and rambling-story form, written from the statute texts by a helper who saw no
    evaluation set, no lay question and no other probe). Measured when added (the third round of issue 8):
    search MRR@10 0.800, hit@5 0.967, answer evidence 58 of 90, no refusal."""
    rows = probe("probe_lay2.jsonl")
    found = mrr(corpus_assistant, rows)
    answers = [corpus_assistant.ask(r["question"]) for r in rows]
    quoted = sum(contains_evidence(a.text, evidence(r)) for r, a in zip(rows, answers))
    assert not any(a.refused for a in answers), [r["question"] for r, a in zip(rows, answers) if a.refused]
    assert found >= 0.78 and quoted >= 55, (found, quoted)


@pytest.mark.slow
def test_rates_asked_in_workers_words_quote_the_statutes_every(corpus_assistant):
    """Held-out probe (tests/data/probe_rates.jsonl: 30 questions on the statutes' per-day / per-week /
    per-month rules, 20 asking with 一天 / 一个月 / 一周 / 一年, 10 otherwise, written from the statute texts by a
    helper who saw no evaluation set). Measured when added (fourth round of issue 8): answer evidence 15 of
    20 and 5 of 10 (14 of 20 before "一个月" matched "每月"), one refused."""
    rows = probe("probe_rates.jsonl")
    answers = [corpus_assistant.ask(r["question"]) for r in rows]
    quoted = {kind: sum(contains_evidence(a.text, evidence(r)) for r, a in zip(rows, answers) if r["phrasing"] == kind)
              for kind in ("yi", "other")}
    assert quoted["yi"] >= 14 and quoted["other"] >= 4, quoted
    assert sum(a.refused for a in answers) <= 2


@pytest.mark.slow
def test_union_worded_questions_the_corpus_cannot_answer(corpus_assistant):
    """Held-out refusal probe (tests/data/probe_refuse.jsonl, written from the corpus by a helper who saw no
    evaluation set): 40 in-domain questions the corpus cannot answer (names, contacts, figures, procedures
    and fund uses it never states; other fields of law) beside 40 look-alikes it can. Measured when added:
    12 of 40 refused, 0 of 40 answerable refused. The gap is the open refusal target of issue 8 (README)."""
    rows = probe("probe_refuse.jsonl")
    wrongly_refused, refused = refusals(corpus_assistant, rows)
    assert len(wrongly_refused) <= 1, wrongly_refused
    assert refused >= 11, refused


@pytest.mark.slow
def test_officers_and_workers_find_the_unions_practices(corpus_assistant):
    """Held-out probe (tests/data/probe_officer.jsonl, written from the newsletters by a helper who saw no
    evaluation set): 40 officers' "how have others done it" questions with practices from several reports, and
    20 workers' questions about union services. Measured when added (third round of issue 8): officer MRR@10
    0.762, answer evidence 23 of 40, 1 refused; worker MRR@10 0.609, answer evidence 10 of 20, 5 refused.
    With retrieval by the texts alone where a report is closer than any statute: officer 0.779 / 24 / 1,
    worker 0.676 / 12 / 4 (short questions about benefits fall under the evidence thresholds: README)."""
    rows = probe("probe_officer.jsonl")
    figures = {}
    for kind in ("officer", "worker"):
        mine = [r for r in rows if r["kind"] == kind]
        answers = [corpus_assistant.ask(r["question"]) for r in mine]
        figures[kind] = (mrr(corpus_assistant, mine),
                         sum(contains_evidence(a.text, evidence(r)) for r, a in zip(mine, answers)),
                         sum(a.refused for a in answers))
    assert figures["officer"][0] >= 0.76 and figures["officer"][1] >= 22 and figures["officer"][2] <= 1, figures
    assert figures["worker"][0] >= 0.64 and figures["worker"][1] >= 11 and figures["worker"][2] <= 4, figures


@pytest.mark.slow
def test_dev_set_answer_figures(corpus_assistant):
    figures = answer_figures(read_questions(DEV_SET), corpus_assistant.ask)
    assert figures["refusal_acc"] == 1.0 and figures["false_refusal"] <= 0.05, figures
    assert figures["citation_has_evidence"] >= 0.90 and figures["answer_has_evidence"] >= 0.80, figures


@pytest.mark.slow
def test_every_kiosk_topic_gets_an_on_topic_short_answer(corpus_assistant):
    """The kiosk's topic buttons ask fixed questions; each must be answered, on topic, in the short form."""
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


# Floors a little under the figures measured on ../shared/eval/dev2.jsonl (README, "Quality"): a change that
# loses workers' legal questions or honest refusals fails CI.
DEV2_FLOORS = {"mrr@10": 0.83, "officer_mrr@10": 0.70, "law_hit@5": 0.95, "law_mrr@10": 0.78,
               "law_answer_has_evidence": 0.75, "citation_has_evidence": 0.88, "refusal_acc": 0.68, "false_refusal": 0.03}


@pytest.fixture(scope="module")
def dev2_figures(corpus_assistant):
    if not DEV2_SET.exists():
        pytest.skip(f"dev2 set not found at {DEV2_SET}")
    questions = read_questions(DEV2_SET)
    retrieval = retrieval_figures(questions, lambda q: [h.passage.text for h in corpus_assistant.search(q, 10)])
    return retrieval, answer_figures(questions, corpus_assistant.ask)


@pytest.mark.slow
def test_dev2_workers_legal_questions_find_their_article(dev2_figures):
    retrieval, answers = dev2_figures
    assert retrieval["by_kind"]["law"]["hit@5"] >= DEV2_FLOORS["law_hit@5"], retrieval["by_kind"]["law"]
    assert retrieval["by_kind"]["law"]["mrr@10"] >= DEV2_FLOORS["law_mrr@10"], retrieval["by_kind"]["law"]
    assert retrieval["mrr@10"] >= DEV2_FLOORS["mrr@10"], retrieval
    assert retrieval["by_kind"]["officer"]["mrr@10"] >= DEV2_FLOORS["officer_mrr@10"], retrieval["by_kind"]["officer"]
    assert answers["citation_has_evidence"] >= DEV2_FLOORS["citation_has_evidence"], answers
    assert answers["by_kind"]["law"]["answer_has_evidence"] >= DEV2_FLOORS["law_answer_has_evidence"], answers["by_kind"]


@pytest.mark.slow
def test_dev2_refusals_are_honest_and_rare_for_answerable_questions(dev2_figures):
    _, answers = dev2_figures
    assert answers["refusal_acc"] >= DEV2_FLOORS["refusal_acc"], answers
    assert answers["false_refusal"] <= DEV2_FLOORS["false_refusal"], answers


@pytest.mark.slow
def test_a_long_first_person_story_finds_its_article(corpus_assistant):
    story = ("我在一家物流公司开了三年货车，上个月出车送货时在高速上被后面的车追尾，腰椎骨折住院两个月，"
             "公司说是我自己不小心，不给报工伤，还让我自己掏医药费，这种情况到底算不算工伤？")
    labels = [h.passage.label for h in corpus_assistant.search(story, 3)]
    assert "《工伤保险条例》第十四条" in labels, labels  # 在上下班途中……交通事故 (the accident happened on a work trip)
    answer = corpus_assistant.ask(story)
    assert not answer.refused and any(c.passage.label == "《工伤保险条例》第十四条" for c in answer.citations), answer.text


@pytest.mark.slow
def test_union_worded_questions_that_nothing_answers_are_refused(corpus_assistant):
    for q in ("工会年底联欢会的节目怎么安排？", "职工运动会拔河比赛每队几个人？", "工会发的电影票在哪家影院能用？"):
        assert corpus_assistant.ask(q).refused, q


@pytest.mark.slow
def test_a_follow_up_that_changes_the_aspect_retrieves_the_combined_meaning(corpus_assistant):
    """Two-turn conversations of our own: the second turn is about the first turn's topic, new aspect."""
    for first, second, said in (("试用期最长多久？", "那工资呢？", "试用期的工资不得低于"),
                                ("劳动仲裁的时效是多久？", "过了怎么办？", "仲裁时效"),
                                ("女职工产假有多少天？", "流产的话呢？", "流产的")):
        a1 = corpus_assistant.ask(first)
        a2 = corpus_assistant.ask(second, session_id=a1.session_id)
        assert not a2.refused and said in a2.citations[0].passage.text, (second, a2.question, a2.text)


@pytest.mark.slow
def test_an_officers_question_about_practice_is_answered_from_the_reports(corpus_assistant):
    """A report's own text is closer to this question than any statute's: 劳动合同法 第五条 (三方机制) came first
    through its lay questions before retrieval ranked such questions by the texts alone."""
    hits = corpus_assistant.search("县级工会怎么牵头把产改工作的协调机制建起来？", 3)
    assert hits[0].passage.doc_type != "law", [h.passage.label for h in hits]

"""Follow-up questions resolved against earlier turns (two and three turns, with and without an LLM)."""

from __future__ import annotations

from bot.followup import carry_forward, is_followup, key_terms, resolve
from bot.sessions import Turn


def turn(q: str, resolved: str | None = None, refused: bool = False) -> Turn:
    return Turn("m", q, resolved or q, "回答[1]", [], refused, 0.0)


def test_detects_short_and_referring_questions():
    for q in ("那试用期呢？", "他们是怎么做的", "还有别的吗？", "这个要多久？", "具体呢"):
        assert is_followup(q), q
    for q in ("试用期最长能约定多久？", "公司一直不跟我签劳动合同，我能要求双倍工资吗？"):
        assert not is_followup(q), q


def test_standalone_or_first_question_is_unchanged():
    assert resolve("那试用期呢？", []) == "那试用期呢？"
    assert resolve("试用期最长能约定多久？", [turn("怀孕了公司能辞退我吗")]) == "试用期最长能约定多久？"


def test_two_turns_carry_forward_key_terms():
    q = resolve("那试用期呢？", [turn("怀孕了，老板能不能把我辞退？")])
    assert q.startswith("那试用期呢？")
    assert "怀孕" in q and "辞退" in q and "不能" not in q


def test_three_turns_chain_through_the_resolved_question():
    t1 = turn("有没有把多个创新工作室整合起来的做法？")
    q2 = resolve("那职工创新呢？", [t1])
    assert "创新工作室" in q2
    q3 = resolve("他们是怎么做的", [t1, turn("那职工创新呢？", q2)])
    assert "创新工作室" in q3 and "职工" in q3 and "他们" in q3


def test_refused_turns_are_skipped():
    hist = [turn("江淮公司工人培训分几级？"), turn("明天天气怎么样", refused=True)]
    assert "江淮" in carry_forward("那他们的奖金呢？", hist)


def test_llm_condenser_is_used_and_failure_falls_back():
    hist = [turn("怀孕了，老板能不能把我辞退？")]
    assert resolve("那试用期呢？", hist, lambda q, h: "试用期内怀孕能被辞退吗？") == "试用期内怀孕能被辞退吗？"
    assert "怀孕" in resolve("那试用期呢？", hist, lambda q, h: None)


def test_key_terms_drop_question_words():
    assert key_terms("江淮公司工人培训分成哪几个层级？") == ["江淮", "公司", "工人", "培训", "分成", "层级"]

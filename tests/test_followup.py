"""Follow-up questions resolved against earlier turns (two and three turns, with and without an LLM)."""

from __future__ import annotations

from bot.followup import carry_forward, is_followup, key_terms, resolve
from bot.store import Turn


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


def test_a_new_place_replaces_the_carried_one():
    q = resolve("那北仑呢？", [turn("扬州工会驿站为货车司机提供什么服务？")])
    assert "北仑" in q and "扬州" not in q and "货车司机" in q


# ------------------------------------------------------------- through the assistant (tiny index, fake embedder)


def test_assistant_resolves_follow_ups_over_three_turns(assistant):
    a1 = assistant.ask("扬州工会驿站有多少家？")
    assert not a1.refused and "120家" in a1.text
    a2 = assistant.ask("他们为货车司机提供什么？", session_id=a1.session_id)
    assert a2.session_id == a1.session_id and "扬州" in a2.question
    assert not a2.refused and "货车司机" in a2.text
    a3 = assistant.ask("那北仑呢？", session_id=a1.session_id)
    assert "北仑" in a3.question and "扬州" not in a3.question
    assert not a3.refused and any("北仑" in c.passage.text for c in a3.citations)
    turns = assistant.store.history(a1.session_id, limit=5)
    assert [t.message_id for t in turns] == [a1.message_id, a2.message_id, a3.message_id]


def test_without_session_each_question_stands_alone(assistant):
    a1 = assistant.ask("扬州工会驿站有多少家？")
    a2 = assistant.ask("那北仑呢？")
    assert a2.session_id != a1.session_id and a2.question == "那北仑呢？"


def test_a_follow_up_that_changes_the_aspect_keeps_the_topic_not_the_old_aspect():
    q = resolve("那工资呢？", [turn("试用期最长多久？")])
    assert "试用期" in q and "最长" not in q and "多久" not in q


def test_a_short_question_that_names_nothing_continues_the_conversation():
    assert is_followup("没休完怎么办？") and is_followup("过了怎么办？")
    assert "年休假" in resolve("没休完怎么办？", [turn("年休假有几天？")])
    assert not is_followup("工伤认定去哪申请")

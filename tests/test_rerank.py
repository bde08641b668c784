"""The fused ranking looked at again by best sentence."""

from __future__ import annotations

from bot.rerank import rerank
from tests.test_answer import hits, passage


def test_a_passage_whose_sentence_settles_the_question_moves_up():
    near = passage("law:37", "第三十七条 劳动者提前三十日以书面形式通知用人单位，可以解除劳动合同。", "第三十七条")
    topic = passage("law:36", "第三十六条 用人单位与劳动者协商一致，可以解除劳动合同。", "第三十六条")
    found = rerank("辞职要提前多少日书面通知用人单位？", hits(topic, near, scores=[1.0, 0.97]))
    assert [h.passage.id for h in found] == ["law:37", "law:36"]
    assert found[0].score >= found[1].score  # scores still fall along the list


def test_a_clear_lead_in_fused_score_is_kept():
    near = passage("law:37", "第三十七条 劳动者提前三十日以书面形式通知用人单位，可以解除劳动合同。", "第三十七条")
    topic = passage("law:36", "第三十六条 用人单位与劳动者协商一致，可以解除劳动合同。", "第三十六条")
    found = rerank("辞职要提前多少日书面通知用人单位？", hits(topic, near, scores=[1.0, 0.5]))
    assert [h.passage.id for h in found] == ["law:36", "law:37"]


def test_nothing_to_compare_leaves_the_order():
    one = hits(passage("case:1", "高邮市总工会推动新就业形态劳动者入会。", title="高邮"))
    assert rerank("辞职", one) == one

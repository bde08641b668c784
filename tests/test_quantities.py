"""Durations a worker states and the statutory conditions they meet."""

from __future__ import annotations

import pytest

from bot.answer import compose
from bot.quantities import Duration, meets, stated
from tests.test_answer import hits, passage


@pytest.mark.parametrize("question, months", [
    ("我在这个厂干了11年了，合同下个月到期", 132), ("才干4个月被裁有补偿吗", 4), ("干了一年半", 18),
])
def test_durations_in_months(question, months):
    assert stated(question) == [Duration("month", months)]


def test_approximate_durations_lean_the_way_they_are_said():
    over, = stated("没签合同干了两年多")
    under, = stated("怀孕快8个月了")
    assert over.value > 24 and 7 < under.value < 8


def test_calendar_dates_are_no_durations():
    assert stated("去年3月离职的，2023年入职，3月5日被辞退") == []


@pytest.mark.parametrize("sentence, question, verdict", [
    ("（一）劳动者在该用人单位连续工作满十年的；", "干了11年", True),
    ("（一）劳动者在该用人单位连续工作满十年的；", "干了6年", False),
    ("不满六个月的，向劳动者支付半个月工资的经济补偿。", "才干4个月", True),
    ("劳动合同期限三个月以上不满一年的，试用期不得超过一个月；", "干了4个月", True),
    ("劳动合同期限三个月以上不满一年的，试用期不得超过一个月；", "干了两年", False),
    ("对怀孕7个月以上的女职工，用人单位不得延长劳动时间或者安排夜班劳动。", "怀孕快8个月了", True),
    ("试用期不得超过六个月。", "干了11年", None),  # a rule, not a condition on the worker
    ("职工每日工作8小时。", "每天干12个小时", None),
    ("连续工作满十年的", "我被扣了工资", None),  # nothing stated
    ("禁止用人单位招用未满十六周岁的未成年人。", "我侄子才15岁，在厂里被冲床轧伤了", True),
    ("未成年工是指年满十六周岁未满十八周岁的劳动者。", "孩子刚满18岁", False),
])
def test_conditions_met(sentence, question, verdict):
    assert meets(sentence, stated(question)) is verdict


def test_answer_quotes_the_condition_the_worker_meets():
    law_14 = ("第十四条 有下列情形之一，劳动者提出或者同意续订、订立劳动合同的，除劳动者提出订立固定期限劳动合同外，"
              "应当订立无固定期限劳动合同：\n（一）劳动者在该用人单位连续工作满十年的；\n"
              "（二）用人单位初次实行劳动合同制度或者国有企业改制重新订立劳动合同时，劳动者在该用人单位连续工作满十年"
              "且距法定退休年龄不足十年的；\n（三）连续订立二次固定期限劳动合同，且劳动者没有本法第三十九条和第四十条"
              "第一项、第二项规定的情形，续订劳动合同的。\n用人单位自用工之日起满一年不与劳动者订立书面劳动合同的，"
              "视为用人单位与劳动者已订立无固定期限劳动合同。")
    h = hits(passage("law:14", law_14, "第十四条"))
    text, _ = compose("我在这个厂干了11年了，合同下个月到期，能不能要求签不定期限的长期合同？", h, 200)
    assert "连续工作满十年的" in text


def test_bands_the_worker_is_not_in_are_left_out_when_one_applies():
    """Three years' service is answered by "每满一年…", never by "不满六个月的…" of the same article; with no band
    that applies ("怀孕6个月", protection from the seventh month), the threshold missed is the answer."""
    law_47 = ("第四十七条 经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。"
              "六个月以上不满一年的，按一年计算；不满六个月的，向劳动者支付半个月工资的经济补偿。")
    text, _ = compose("我在厂里干了3年，公司裁员能拿多少经济补偿？", hits(passage("law:47", law_47, "第四十七条")), 200)
    assert "每满一年支付一个月工资" in text and "不满六个月" not in text and "不满一年" not in text
    law_61 = "第六十一条 对怀孕七个月以上的女职工，不得安排其延长工作时间和夜班劳动。"
    text, _ = compose("怀孕6个月，公司让我加班到晚上十点，合法吗？", hits(passage("law:61", law_61, "第六十一条", "劳动法")), 200)
    assert "怀孕七个月以上的女职工" in text

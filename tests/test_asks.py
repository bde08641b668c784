"""Answer forms: what a question asks for, and whether passages state it (bot/asks.py)."""

from __future__ import annotations

import pytest

from bot.asks import Form, asked_form, form_stated
from bot.zh import asked_clauses
from bot.types import Hit, Passage


def hit(text: str, doc_type: str = "case") -> Hit:
    p = Passage(id="d:0", doc_id="d", text=text, doc_type=doc_type, title="某公司产改经验", source_file="x.md",
                position=0)
    return Hit(passage=p, score=0.03, dense_score=0.9)


@pytest.mark.parametrize(("question", "form"), [
    ("市总工会的办公电话是多少？", Form("phone")),
    ("驿站每天几点开门？", Form("clock")),
    ("热线几点到几点有人接？", Form("clock")),  # a time of day, though it names a hotline
    ("煤矿一年能产多少万吨煤？", Form("count", "吨")),
    ("辞职要提前几天说？", Form("count", "天")),
    ("国庆加班工资给几倍？", Form("share")),
    ("公司去年的营业收入是多少？", Form("money")),
    ("工伤五级能赔多少钱？", Form("money")),
    ("一个月能赔几块钱", Form("money")),
    ("哪几家企业建了劳模创新工作室？", Form("names", "企业")),  # which ones, not how many
    ("挂牌的两家医院是哪两家医院？", Form("names", "医院")),
])
def test_the_asked_form_comes_from_the_interrogative(question, form):
    assert asked_form(question) == form


@pytest.mark.parametrize("question", [
    "昨天车间里气味很重，好几个人头晕，我们几个人跑出来了，主管要扣奖金，他有理吗？",  # "几" = several
    "合同到期不续签怎么办？",
    "延长多久？",  # a duration answered by a rule, not always a figure
    "这几个月天天加班，合法吗",
    "小时工多久结一次钱",  # how often, not how much money
])
def test_questions_without_a_checkable_form_ask_for_none(question):
    assert asked_form(question) is None


def test_only_the_asked_clauses_count():
    assert asked_clauses("我在厂里干了十几年。合同到期了，能要补偿吗？") == "能要补偿吗？"
    assert asked_clauses("试用期最长多久") == "试用期最长多久"
    # Spaces break clauses as commas do when a worker types on a phone: the story's phone call is not asked.
    assert asked_clauses("分包老板电话打不通人跑了 俺们去找总包要钱 这钱到底该谁给") == "这钱到底该谁给"
    assert asked_form("分包老板电话打不通人跑了 俺们去找总包要钱 这钱到底该谁给") is None


def test_a_count_is_stated_in_the_same_or_an_equivalent_unit():
    assert form_stated("辞职要提前几天说？", [hit("劳动者提前三十日以书面形式通知用人单位。", "law")])
    assert form_stated("第一批有多少人拿到？", [hit("首批32名职工拿到了奖金。")])
    assert not form_stated("煤矿一年能产多少万吨煤？", [hit("煤矿有职工3000余人，建成创新工作室12个。")])


def test_an_article_number_is_not_a_figure():
    assert not form_stated("要提前几条？", [hit("第三十八条 用人单位应当支付。", "law")])


def test_a_time_of_day_may_be_around_the_clock():
    assert form_stated("驿站晚上几点关门？", [hit("智能驿站24小时全天候服务。")])
    assert not form_stated("驿站晚上几点关门？", [hit("驿站配有微波炉和饮水机，已服务户外劳动者2万人次。")])


def test_money_must_be_stated_beside_a_word_of_the_question():
    q = "公司2022年的营业收入是多少？"
    assert not form_stated(q, [hit("2022年发展党员210名，一线产业工人占比90%以上，发放奖励50万元用于培训。")])
    assert form_stated(q, [hit("2022年公司实现营业收入120亿元。")])
    # A percentage is an amount when said of pay.
    assert form_stated("加班费多少钱？", [hit("支付不低于工资的百分之一百五十的工资报酬。", "law")])


def test_a_phone_number_is_stated_or_not():
    assert form_stated("工会的电话是多少？", [hit("职工可拨打服务热线12351咨询。")])
    assert not form_stated("工会的电话是多少？", [hit("工会设立了服务窗口，方便职工办事。")])


def test_questions_that_ask_no_form_are_never_refused_here():
    assert form_stated("合同到期不续签有补偿吗？", [hit("与此无关的一段话。")])


def test_names_of_a_kind_are_stated_or_not():
    q = "高邮挂牌的两家“小哥医院”具体是哪两家医院？"
    assert not form_stated(q, [hit("高邮挂牌两家“小哥医院”，为快递小哥提供就医绿色通道。")])  # only the question's own name
    assert form_stated(q, [hit("高邮市人民医院和高邮市中医医院挂牌成为“小哥医院”。")])
    assert form_stated("祝塘镇哪些企业拿到了自主认定资格？", [hit("江苏某某机械有限公司等3家企业获得自主认定资格。")])

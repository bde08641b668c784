"""What a question asks for, when its answer has a recognisable form, and whether the passages state one.

"扬州市总工会的办公电话是多少？" asks for a phone number, "几点开门" for a time of day, "产多少万吨煤" for a
count of tonnes, "营业收入是多少" for an amount of money. The knowledge base may talk about the thing asked
about without stating the figure; then the honest answer is a refusal, not the nearest passage. This is the
expected-answer-type check of classic question answering, built from Chinese question grammar only:

- only the asked clauses count (those ending in "？", else the last clause): "好几个人头晕……他有理吗？"
  asks nothing countable;
- "几" is interrogative only when no word before it makes it "several" (十几, 好几, 这几, 我们几);
- "哪两家医院", "哪些企业" ask for names of that kind that the question does not give itself;
- a question with no such form (how, why, may I) is never refused here.

How the rule was checked (../shared/eval: developed on the odd rows of dev2.jsonl, then the even rows and
dev.jsonl; tests/data/probe_asks.jsonl, questions written from the corpus apart from both, guards it in
tests/test_quality.py): see README "Quality", "Answer forms".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.answer import query_terms
from bot.types import Hit
from bot.zh import ARTICLE_REF, asked_clauses, sentences

# A number as written in Chinese text: Arabic or Chinese numerals, maybe "多/余/来" (about).
_NUM = r"(?:[0-9０-９][0-9０-９.,]*|[零〇一二两三四五六七八九十百千万亿半]+)\s*(?:多|余|来)?\s*"

# Interrogatives and the answer forms they call for.
_ASKS_PHONE = re.compile(r"电话|手机号|联系方式|热线")
_ASKS_CLOCK = re.compile(r"(?<![十好这那])几点|营业时间|开放时间|开门时间")
_NOT_ASKING = "十好这那前后过头没有些们两一二三四五六七八九哪"  # "十几个", "好几天", "我们几个人": several, not how
# many; "哪几家": which ones; "前几天": a few days ago, but "提前几天": how many days ahead
_ASKS_UNIT = re.compile(
    rf"(?:多少|提前几|(?<![{_NOT_ASKING}])几)(?:万|千|百|亿)?"
    r"(个月|个小时|小时|工作日|周年|个星期|星期|平方米|公里|[名人位个家所座条项天日周月年岁次吨元块台辆本场届批期户件支篇倍])"
)
_ASKS_AMOUNT = re.compile(r"多少")  # with a money word; "多久结一次钱" asks how often, not how much
# "哪两家医院", "哪些企业": named ones of a kind, stated as names that end in the kind's word.
_NAME_ENDINGS = {"医院": "医院", "企业": "公司|集团|企业|厂", "公司": "公司|集团|企业|厂", "学校": "学校|大学|学院",
                 "园区": "园区|产业园", "驿站": "驿站"}
_ASKS_NAMES = re.compile(rf"哪(?:些|几|两|[一二三四五六七八九十])(?:家|个|所|座)?({'|'.join(_NAME_ENDINGS)})")
_MONEY_WORD = re.compile(r"钱|工资|薪|收入|补贴|津贴|补偿|赔偿|赔|费|奖金|金额|营收|利润|报酬|罚款|奖励")

_PHONE = re.compile(r"(?<![0-9])(?:(?:[0-9]{3,4}[-－—]?)?[0-9]{7,8}|1[0-9]{10}|12[0-9]{3})(?![0-9])")
_CLOCK = re.compile(r"24小时|全天候|全天|(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})[点时](?:半|[0-9一二三四五六七八九十]+分?)?|[0-9]{1,2}[:：][0-9]{2}")
_MONEY = re.compile(rf"{_NUM}(?:万|亿|千)?(?:元|块)|{_NUM}个?月(?:的)?(?:本人)?(?:平均)?(?:缴费)?工资")
_SHARE = re.compile(rf"百分之|[0-9.]+\s*[%％]|{_NUM}倍")  # an amount only when said of pay ("百分之一百五十的工资")
_PAY_WORD = re.compile(r"工资|报酬|薪|补偿|赔偿|金|费|津贴|补贴")
# Units that name the same quantity ("几天" is answered by "三十日").
_SAME_UNIT = (("天", "日", "工作日"), ("名", "人", "位"), ("个月", "月"), ("年", "周年"), ("小时", "个小时"),
              ("周", "星期", "个星期"))


@dataclass(frozen=True)
class Form:
    """The kind of answer a question asks for: phone, clock (or "24小时"), money, share (a multiple or a
    percentage), a count in `unit`, or names of the kind `unit` ("医院": "扬州市第一人民医院")."""

    kind: str
    unit: str = ""

    def stated_in(self, sentence: str, question: str = "") -> bool:
        """Whether the sentence states an answer of this form (names: one the question does not already give)."""
        s = ARTICLE_REF.sub("", sentence)
        if self.kind == "names":
            endings = _NAME_ENDINGS[self.unit]
            asked = _ASKS_NAMES.sub("", question)  # names the question gives itself ("“小哥医院”") are no answer
            for given in re.findall(rf"[\u4e00-\u9fff]{{1,12}}(?:{endings})", asked):
                s = s.replace(given, "")
            return bool(re.search(rf"[\u4e00-\u9fff]{{2}}(?:{endings})", s))
        if self.kind == "phone":
            return bool(_PHONE.search(s))
        if self.kind == "clock":
            return bool(_CLOCK.search(s))
        if self.kind == "share":  # "几倍" is answered by "百分之三百"
            return bool(_SHARE.search(s))
        if self.kind == "money":
            return bool(_MONEY.search(s) or (_SHARE.search(s) and _PAY_WORD.search(s)))
        units = next((g for g in _SAME_UNIT if self.unit in g), (self.unit,))
        return bool(re.search(rf"{_NUM}(?:万|千|百|亿)?(?:{'|'.join(map(re.escape, units))})", s))


def asked_form(question: str) -> Form | None:
    """The answer form the question asks for, or None when its answer has no recognisable form."""
    q = asked_clauses(question)
    if _ASKS_CLOCK.search(q):
        return Form("clock")
    if _ASKS_PHONE.search(q):
        return Form("phone")
    names = _ASKS_NAMES.search(q)
    if names:
        return Form("names", names.group(1))
    m = _ASKS_UNIT.search(q)
    if m:
        unit = m.group(1)
        return Form("money") if unit in ("元", "块") else Form("share") if unit == "倍" else Form("count", unit)
    if _ASKS_AMOUNT.search(q) and _MONEY_WORD.search(q):
        return Form("money")
    return None


def form_stated(question: str, hits: Sequence[Hit], top: int = 3) -> bool:
    """Whether the top passages state an answer of the form the question asks for (True when it asks for none).

    Counts, phone numbers and times may be anywhere in a passage (a report gives "首批32名" a sentence after
    naming the fund); an amount of money must be in a sentence that also has a word of the question, since
    reports are full of unrelated sums and percentages.
    """
    form = asked_form(question)
    if form is None:
        return True
    # The question's words, their sub-words and legal wording ("加班费" -> "延长工作时间"), without numbers.
    terms = [w for t in query_terms(question) if len(t.word) >= 2 and not re.search(r"[0-9０-９]", t.word)
             for w in (t.word, *t.parts)]
    for h in hits[:top]:
        for s in sentences(h.passage.text):
            if form.stated_in(s, question) and (form.kind != "money" or any(t in s.lower() for t in terms)):
                return True
    return False

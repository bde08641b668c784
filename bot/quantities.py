"""Durations and ages a worker states ("干了11年", "才干4个月", "怀孕快8个月", "才15岁") and the statutory
conditions they meet.

Statutes decide by thresholds written into conditional clauses: "连续工作满十年的", "不满六个月的",
"怀孕7个月以上的女职工", "三个月以上不满一年的". A worker who says "我在这个厂干了11年" is answered by the
clause whose threshold 11 years meets, not by the neighbouring one about one year. Only durations (years,
months, days, hours, converted into one another) and ages count: they are what statutes compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.zh import cn_number

_NUMBER = r"([0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千]+)"
# Unit -> (family, factor to the family's base): years and months are compared in months.
_UNITS = {"年": ("month", 12.0), "个月": ("month", 1.0), "个多月": ("month", 1.0), "天": ("day", 1.0),
          "日": ("day", 1.0), "个工作日": ("day", 1.0), "工作日": ("day", 1.0), "小时": ("hour", 1.0),
          "个小时": ("hour", 1.0), "周岁": ("age", 1.0), "岁": ("age", 1.0)}
_UNIT = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
# In a question: "11年", "两年多", "快8个月", "一年半"; not a calendar year ("2023年", "去年").
_STATED = re.compile(rf"(快|近|将近|不到)?{_NUMBER}(多)?({_UNIT})(半|多)?")
# In a statute: "满十年", "不满六个月", "7个月以上", "超过一年", "十五年以下"; only in a conditional clause (…的).
_BOUND = re.compile(rf"(不满|未满|不足|少于|不到|已满|满|超过|以上|不少于)?{_NUMBER}({_UNIT})(以上|以下|以内)?")
_CLAUSE = re.compile(r"[^，；。：,;:]+")


@dataclass(frozen=True)
class Duration:
    """An amount of time in its family's base unit (months, days or hours), or an age in years."""

    family: str
    value: float


def _value(number: str) -> float | None:
    if re.fullmatch(r"[0-9.]+", number):
        return float(number)
    n = cn_number(number)
    return float(n) if n is not None else None


def stated(question: str) -> list[Duration]:
    """Durations the question states of the asker's situation (calendar years and dates excluded)."""
    out = []
    for m in _STATED.finditer(question):
        near, number, more, unit, tail = m.groups()
        value = _value(number)
        if value is None or (unit == "年" and value >= 1900) or unit == "日":
            continue
        family, factor = _UNITS[unit]
        amount = value * factor
        if tail == "半":
            amount += factor / 2
        elif more or tail == "多":
            amount += factor / 10  # "两年多": a little over two years
        elif near:
            amount -= factor / 10  # "快8个月": a little under eight months
        out.append(Duration(family, amount))
    return out


def _holds(word: str | None, suffix: str | None, amount: float, bound: float) -> bool | None:
    """Whether `amount` meets the threshold; None when the figure is no threshold (a plain amount)."""
    if word in ("不满", "未满", "不足", "少于", "不到"):
        return amount < bound
    if word in ("满", "已满", "不少于") or suffix == "以上":
        return amount >= bound
    if word == "超过":
        return amount > bound
    if suffix in ("以下", "以内"):
        return amount <= bound
    return None


def meets(sentence: str, durations: list[Duration]) -> bool | None:
    """True when the sentence has conditions on the durations stated and all of them hold, False when one
    fails, None when it sets no condition on them."""
    if not durations:
        return None
    verdicts = []
    for clause in _CLAUSE.findall(sentence):
        if "的" not in clause:
            continue  # "试用期不得超过一个月" is a rule, not a condition on the worker
        for m in _BOUND.finditer(clause):
            word, number, unit, suffix = m.groups()
            value = _value(number)
            if value is None:
                continue
            family, factor = _UNITS[unit]
            held = [_holds(word, suffix, d.value, value * factor) for d in durations if d.family == family]
            if held and held[0] is not None:
                verdicts.append(any(held))  # "干了6年，签过两次三年的合同": either figure may meet it
    if not verdicts:
        return None
    return all(verdicts)

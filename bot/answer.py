"""Extractive answers: whole source sentences that answer the question, each ending with its [n] marker.

Sentences are copied verbatim (never reworded), chosen by weighted overlap with the question and its
lay-to-legal expansion, grouped by passage (best passage first) and kept in source order within a passage,
so every sentence can be checked against the passage its marker points to.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from bot.injection import is_injection
from bot.quantities import Duration, meets, stated
from bot.split import ARTICLE_RE
from bot.types import Citation, Hit, Passage
from bot.zh import ARTICLE_REF, data_lines, expand, places_in, sentences, squash, tokenize, words

# Enumerated list items: "（一）", "(2)", "1.", "一、".
_LIST_ITEM = re.compile(r"^([（(][一二三四五六七八九十0-9]+[)）]|[0-9]+[.、．]|[一二三四五六七八九十]+、)")
# Questions about amounts, dates and durations favour sentences that state a number.
_QUANTITY_Q = re.compile(r"多少|几|多久|多长|比例|占比|金额|标准|多大|多高|百分")
# A counted amount ("50名", "2000多名", "25%", "98天", "三年"), not a calendar date ("2024年8月").
_HAS_NUMBER = re.compile(
    r"(?<![0-9０-９])(?!(?:19|20)[0-9]{2}\s*年)[0-9０-９][0-9０-９.,]*\s*(?:多|余)?\s*"
    r"(?:[个名家条项天年倍元万亿人件次座所户支期批%％]|平方米|小时|公里|分之)"
    r"|[一二两三四五六七八九十百千万]+(?:[个名家条项天年倍元万亿人件次]|分之)"
)
# A list item that only points elsewhere ("（七）法律、行政法规规定应当认定为工伤的其他情形。") says nothing by itself.
_CATCH_ALL = re.compile(r"^(?:法律|行政法规|法规)[、，]?(?:行政法规|法规)?[^，。；]*规定[^，。；]*其他[^，。；]*[。；]?$")
# A lead-in of conditions that must all be met ("符合下列条件的，……："), unlike "下列情形之一".
_ALL_CONDITIONS = re.compile(r"(?:符合|具备|满足)下列(?:[^：:之]*)条件[^：:之]*[：:]$")
_CLAUSE_END = re.compile(r"[，、；：,;:]")
_CLAUSE_SPLIT = re.compile(r"(?<=[，；,;])")
QUANTITY_BOOST = 1.3  # "多少/几/多久" questions: sentences stating a number
MEETS_BONUS = 3.0  # a condition that the worker's stated duration meets ("干了11年": "连续工作满十年的")
CONTEXT_SHARE = 0.4  # a question word found in the passage but not in the sentence
LONG_SHARE = 0.6  # sentences longer than this share of the answer budget are cut down to their best clauses

MIN_SENTENCE_CHARS = 6  # shorter pieces (headings, "（一）") never stand alone in an answer
RANK_DECAY = 0.92  # weight of passage r (0-based) is RANK_DECAY**r
KEEP_RATIO = 0.45  # further sentences must score at least this share of the best one
MAX_PASSAGES = 8  # passages whose sentences are considered
SPREAD = 3  # the best sentence of each of the top SPREAD passages is taken first (when it scores enough)
# Sentences of a passage whose fused retrieval score is below NEAR x the top passage's are left out unless they
# outscore every sentence of the top passage: otherwise an answer is padded with neighbouring articles
# (a wage-arrears answer quoting probation rules).
NEAR = 0.8


@dataclass(frozen=True)
class Candidate:
    """One sentence of one retrieved passage, with its relevance score."""

    hit_rank: int  # 0-based rank of its passage among the hits
    position: int  # 0-based index among the passage's sentences
    text: str
    score: float
    lead_in: str | None = None  # the "…如下：" sentence introducing a list item
    lead_position: int | None = None  # its index among the passage's sentences
    conditions: tuple[tuple[int, str], ...] = ()  # all items of a list of conditions that must all be met


@dataclass(frozen=True)
class Term:
    """A question word with its weight and the sub-words that count as a partial match."""

    word: str
    weight: float
    parts: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


def query_terms(question: str) -> list[Term]:
    """Words of the question and of its lay-to-legal expansion; longer words weigh more, expansion words less."""
    own = words(question)
    extra = expand(question)[len(question):]
    out: dict[str, Term] = {}
    for source, factor in ((own, 1.0), (words(extra), 0.5)):  # legal wording ("用人单位") is everywhere
        for w in source:
            w = w.lower()
            if w in out:
                continue
            weight = (0.3 if len(w) == 1 else 1.0 if len(w) == 2 else 1.5) * factor
            parts = tuple(t for t in tokenize(w) if t != w and len(t) >= 2) if len(w) > 2 else ()
            out[w] = Term(w, weight, parts, synonyms().get(w, ()) + rate_words(w))
    return list(out.values())


def match(term: Term, sentence: str) -> float:
    """1 for the whole word; 0.9 when all its sub-words occur in another order ("拖欠工资" / "工资被拖欠");
    0.7 for a near-synonym; 0.5 when only some of its sub-words occur; else 0."""
    if term.word in sentence:
        return 1.0
    found = [p in sentence for p in term.parts]
    if found and all(found) and len(term.parts) > 1:
        return 0.9
    if any(s in sentence for s in term.synonyms):
        return 0.7
    return 0.5 if any(found) else 0.0


# "一个月 / 一天 / 一周 / 一年" in a question about a limit is a rate, which statutes write with 每: "一个月最多加班
# 多少小时" is answered by "每月不得超过三十六小时", "一周休息几天" by "每周至少休息一日".
_RATE = re.compile(r"^一个?(天|日|周|星期|月|年)$")
_RATE_WORDS = {"天": ("每日", "每天"), "日": ("每日", "每天"), "周": ("每周", "每星期"), "星期": ("每周", "每星期"),
               "月": ("每月",), "年": ("每年",)}


def rate_words(word: str) -> tuple[str, ...]:
    """How a statute writes the rate a worker's "一个月" / "一天" … may mean ("每月", "每日"); () for other words."""
    m = _RATE.match(word)
    return _RATE_WORDS[m.group(1)] if m else ()


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    """bot/data/answer_synonyms.tsv: question word -> words a source sentence may use instead."""
    table = {}
    for ln in data_lines("answer_synonyms.tsv"):
        word, _, alts = ln.partition("\t")
        table[word.strip()] = tuple(alts.split())
    return table


def sentence_score(
    sentence: str, terms: list[Term], idf: dict[str, float], quantity: bool = False, context: str = "",
    durations: list[Duration] | None = None,
) -> float:
    """Weighted, idf-scaled question words the sentence contains (+ a bonus for numbers when asked, and for a
    condition that a duration the worker states meets: "干了11年" and "连续工作满十年的").

    Words found only in the sentence's context (its passage and title: the place or company a report is
    about) count CONTEXT_SHARE as much.
    """
    s = sentence.lower()
    score = sum(t.weight * idf.get(t.word, 1.0) * max(match(t, s), CONTEXT_SHARE * match(t, context)) for t in terms)
    if quantity and score > 0 and _HAS_NUMBER.search(ARTICLE_REF.sub("", sentence)):
        score = score * QUANTITY_BOOST + 0.75
    if score > 0 and durations and meets(sentence, durations):
        score += MEETS_BONUS
    return score


def local_idf(terms: list[Term], texts: list[str]) -> dict[str, float]:
    """Rarity of each term among the candidate sentences: words found everywhere discriminate nothing."""
    n = max(len(texts), 1)
    lowered = [t.lower() for t in texts]
    idf = {}
    for t in terms:
        df = sum(1 for x in lowered if match(t, x) > 0)
        idf[t.word] = 1.0 + 0.5 * math.log(n / df) if df else 1.0
    return idf


def passage_sentences(passage: Passage) -> list[str]:
    """The passage's sentences as they appear in its text (article heading removed); an injected instruction
    is blanked, not dropped, so an index is still the sentence's place in the source."""
    # The article heading ("第四十二条　") is metadata, shown by the citation label.
    text = ARTICLE_RE.sub("", passage.text.strip()) if passage.article else passage.text
    return ["" if is_injection(s) else s for s in sentences(text)]


def on_place(question: str, hits: list[Hit]) -> list[Hit]:
    """When the question names places, only the passages about one of them (all hits if none is)."""
    places = places_in(question)
    if not places:
        return hits
    about = [h for h in hits if any(p in _context(h.passage) for p in places)]
    return about or hits


def _context(p: Passage) -> str:
    return f"{p.title} {p.org or ''} {p.region or ''} {' '.join(p.regions)} {p.text}".lower()


def best_window(
    sentence: str, terms: list[Term], idf: dict[str, float], quantity: bool, limit: int, context: str = "",
    durations: list[Duration] | None = None,
) -> str:
    """The run of whole clauses of an over-long sentence that scores best within `limit` chars, cuts marked ……"""
    clauses = [c for c in _CLAUSE_SPLIT.split(sentence) if c]
    best: tuple[int, int] = (0, 0)
    best_key = (-1.0, 0)
    for i in range(len(clauses)):
        size = 0
        for j in range(i, len(clauses)):
            size += len(clauses[j])
            if size > limit and j > i:
                break
            text = "".join(clauses[i : j + 1])
            key = (sentence_score(text, terms, idf, quantity, context, durations), len(text))
            if key > best_key:
                best, best_key = (i, j), key
    i, j = best
    text = "".join(clauses[i : j + 1]).rstrip("，、；：,;:")
    return ("……" if i > 0 else "") + text + ("……" if j < len(clauses) - 1 else "")


def candidates(
    question: str, hits: list[Hit], max_passages: int = MAX_PASSAGES, long_chars: int | None = None
) -> list[Candidate]:
    """Scored sentences of the top passages, best first; sentences over long_chars shrink to their best clauses."""
    terms = query_terms(question)
    quantity = bool(_QUANTITY_Q.search(question))
    durations = stated(question)
    pool = on_place(question, hits[:max_passages])
    per_hit = [passage_sentences(h.passage) if h in pool else [] for h in hits[:max_passages]]
    contexts = [_context(h.passage) for h in hits[:max_passages]]
    idf = local_idf(terms, [s for sents in per_hit for s in sents])
    # A passage with a band the worker's duration falls in ("每满一年…") is quoted without its other bands
    # ("不满六个月的…" to someone with three years); with no band that applies, the threshold missed is the answer.
    out: list[Candidate] = []
    for rank, sents in enumerate(per_hit):
        verdicts = [meets(x, durations) for x in sents]  # all None when the question states no duration
        applies = any(verdicts)
        for pos, sent in enumerate(sents):
            if len(sent) < MIN_SENTENCE_CHARS or (applies and verdicts[pos] is False):
                continue
            if long_chars and len(sent) > long_chars:
                sent = best_window(sent, terms, idf, quantity, long_chars, contexts[rank], durations)
            score = sentence_score(sent, terms, idf, quantity, contexts[rank], durations) * RANK_DECAY**rank
            if score > 0:
                lead = _lead_in(sents, pos)
                if lead is None:
                    out.append(Candidate(rank, pos, sent, score, conditions=_conditions(sents, sent, pos)))
                elif not _CATCH_ALL.match(_LIST_ITEM.sub("", sent)):
                    out.append(Candidate(rank, pos, sent, score, *lead, _conditions(sents, *lead)))
    out.sort(key=lambda c: (-c.score, c.hit_rank, c.position))
    return out


def _conditions(sents: list[str], lead: str, lead_position: int) -> tuple[tuple[int, str], ...]:
    """The items after a lead-in of conditions that must all be met (none for "下列情形之一")."""
    if not _ALL_CONDITIONS.search(lead.rstrip()):
        return ()
    items = []
    for i in range(lead_position + 1, len(sents)):
        if not _LIST_ITEM.match(sents[i]):
            break
        items.append((i, sents[i]))
    return tuple(items)


def _lead_in(sents: list[str], pos: int) -> tuple[str, int] | None:
    """For a list item, the nearest earlier sentence ending with a colon (what the list is about) and its index."""
    if not _LIST_ITEM.match(sents[pos]):
        return None
    for i in range(pos - 1, -1, -1):
        if sents[i].rstrip().endswith(("：", ":")):
            return sents[i], i
        if not _LIST_ITEM.match(sents[i]):
            return None
    return None


def select(
    cands: list[Candidate], max_chars: int, allowed: set[int] | None = None, opening: dict[int, int] | None = None
) -> list[Candidate]:
    """Greedy choice of the best sentences within max_chars (the best one and the top passage's best always).

    `allowed`: hit ranks whose sentences may be used besides the best sentence's own passage (None: all).
    `opening`: characters that quoting a hit rank for the first time adds (its article reference).
    A sentence that ends on a colon is kept only with at least one of the list items it introduces.
    """
    if not cands:
        return []
    best = cands[0].score
    chosen: list[Candidate] = []
    seen: set[str] = set()
    used = 0
    # First the best sentence of each of the top SPREAD passages, then the rest by score: an answer that
    # draws on several sources is more often right than three sentences from one passage.
    good = [c for c in cands if c.score >= best * KEEP_RATIO
            and (allowed is None or c.hit_rank in allowed or c.hit_rank == cands[0].hit_rank)]
    firsts: dict[int, Candidate] = {}
    # The top passage's best sentence is always offered, however few of the question's words it shares:
    # retrieval ranked that passage first on more than words (its lay questions, the meaning of the question).
    top = next((c for c in cands if c.hit_rank == 0), None)
    if top is not None:
        firsts[0] = top
        if top not in good:
            good = [top] + good
    for c in good:
        if c.hit_rank < SPREAD and c.hit_rank not in firsts:
            firsts[c.hit_rank] = c
    ordered = [c for c in good if firsts.get(c.hit_rank) is c] + [c for c in good if firsts.get(c.hit_rank) is not c]
    opening = opening or {}
    for c in ordered:
        unit = [s for s in ([c.lead_in] if c.lead_in else []) + [c.text] if squash(s) not in seen]
        cost = sum(len(s) for s in unit) + (0 if any(x.hit_rank == c.hit_rank for x in chosen) else opening.get(c.hit_rank, 0))
        if not unit or (chosen and used + cost > max_chars):
            continue
        lead = (c.text, c.position) if c.lead_in is None else (c.lead_in, c.lead_position)
        siblings = [Candidate(c.hit_rank, i, t, 0.0, *lead)
                    for i, t in c.conditions if i != c.position and squash(t) not in seen] if c.conditions else []
        if used + cost + sum(len(x.text) for x in siblings) > max_chars:
            siblings = []  # too long to quote whole: the best items only, as for any list
        chosen.extend(siblings)  # one condition of several that must all be met would mislead
        cost += sum(len(x.text) for x in siblings)
        seen.update(squash(x.text) for x in siblings)
        if _ends_on_colon(c.text) and not siblings:
            item = _first_item_of(c, cands, seen)
            if item is None or (chosen and used + cost + len(item.text) > max_chars):
                continue  # a lead-in without its list says nothing
            unit.append(item.text)
            cost += len(item.text)
            chosen.append(item)
        chosen.append(c)
        seen.update(squash(s) for s in unit)
        used += cost
        if used >= max_chars:
            break
    return chosen


def _ends_on_colon(sentence: str) -> bool:
    return sentence.rstrip().endswith(("：", ":"))


def _first_item_of(lead: Candidate, cands: list[Candidate], seen: set[str]) -> Candidate | None:
    """The best-scoring list item that the lead-in sentence introduces."""
    return next((c for c in cands if c.hit_rank == lead.hit_rank and c.lead_in == lead.text
                 and squash(c.text) not in seen), None)


def trim(sentence: str, max_chars: int) -> str:
    """Cut an over-long sentence at the last clause boundary within max_chars and mark the cut with …"""
    if len(sentence) <= max_chars:
        return sentence
    cut = max((m.end() for m in _CLAUSE_END.finditer(sentence[:max_chars])), default=max_chars)
    return sentence[:cut].rstrip("，、；：,;:") + "……"


def compose(question: str, hits: list[Hit], max_chars: int) -> tuple[str, list[Citation]]:
    """Extractive answer text with [n] markers and its citations; ("", []) when no sentence matches.

    The passage of the best sentence comes first; a statute article is introduced by its reference
    ("《劳动合同法》第三十八条：") so the answer says which article decides before what it says.
    """
    top = hits[0].score if hits else 0.0
    allowed = {r for r, h in enumerate(hits) if h.score >= NEAR * top}
    opening = {r: len(_reference(h.passage)) for r, h in enumerate(hits)}  # article references count too
    cands = candidates(question, hits, long_chars=int(max_chars * LONG_SHARE))
    chosen = select(cands, max_chars, allowed, opening)
    if not chosen:
        return "", []
    # Passage of the best sentence first, then the others by retrieval rank; source order inside a passage.
    order = [chosen[0].hit_rank] + sorted({c.hit_rank for c in chosen} - {chosen[0].hit_rank})
    citations: list[Citation] = []
    parts: list[str] = []
    written: set[str] = set()
    for n, rank in enumerate(order, start=1):
        hit = hits[rank]
        citations.append(Citation(n=n, passage=hit.passage, score=hit.score))
        parts.append(_reference(hit.passage))
        group = sorted((c for c in chosen if c.hit_rank == rank), key=lambda c: c.position)
        quoted: list[tuple[int, str]] = []  # (position in the passage, text) in source order
        for c in group:
            for pos, s in ([(c.lead_position, c.lead_in)] if c.lead_in else []) + [(c.position, c.text)]:
                if squash(s) in written:
                    continue
                written.add(squash(s))
                limit = max_chars - opening[rank] if len(chosen) == 1 and not c.lead_in else len(s)
                quoted.append((pos, trim(s, limit)))
        parts.append(_cited_runs(quoted, n))
    return "".join(parts), citations


def _cited_runs(quoted: list[tuple[int, str]], n: int) -> str:
    """Sentences of one passage with a marker after each run of neighbouring ones ("…的：（一）…；[1]"):
    a quoted condition reads as one piece, as it stands in the source."""
    out = []
    for i, (pos, text) in enumerate(quoted):
        out.append(text)
        last = i + 1 == len(quoted)
        if last or quoted[i + 1][0] != pos + 1 or text.endswith("……") or quoted[i + 1][1].startswith("……"):
            out.append(f"[{n}]")
    return "".join(out)


def _reference(p: Passage) -> str:
    """What opens a statute article's sentences in an answer ("《劳动合同法》第三十八条："); "" for reports."""
    return f"{p.label}：" if p.doc_type == "law" and p.article else ""


@lru_cache(maxsize=1)
def _next_steps_table() -> tuple[tuple[tuple[str, ...], str], ...]:
    rows = []
    for ln in data_lines("next_steps.tsv"):
        _topic, keywords, line = ln.split("\t")
        rows.append((tuple(keywords.split()), line.strip()))
    return tuple(rows)


def next_steps(question: str) -> str | None:
    """Next-steps lines (plus the 'information, not legal advice' note) for high-stakes topics, else None."""
    lines: list[str] = []
    note = ""
    for keywords, line in _next_steps_table():
        if keywords == ("*",):
            note = line
        elif any(k in question for k in keywords) and line not in lines:
            lines.append(line)
    if not lines:
        return None
    return "\n".join(lines[:2] + ([note] if note else []))

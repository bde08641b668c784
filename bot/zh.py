"""Chinese text helpers: normalisation, sentences, jieba tokens with our dictionary, lay-to-legal expansion, places.

Vocabulary lives in data files under bot/data/, never in code branches.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

logger = logging.getLogger(__name__)

# A sentence ends at 。！？；, or at …… / ! ? ; with closing quotes and brackets kept on the sentence.
_SENTENCE_END = re.compile(r"([。！？；!?;]+|……)([”’」』）)】]*)")
_PUNCT_OR_SPACE = re.compile(r"^[\W_]+$", re.UNICODE)
_CN_NUM = "零〇一二两三四五六七八九十百千"
# A reference to an article, paragraph or item ("本法第二十六条第一款"): a number that is no amount or count.
ARTICLE_REF = re.compile(rf"第[{_CN_NUM}0-9]+[条款项章节]")


# Workers typing on a phone often break clauses with spaces instead of commas ("工钱一分没结 人跑了 这钱该谁给").
_ASKED_CLAUSE = re.compile(r"[^。！？!?；;，,：:\s]*[？?]")
_CLAUSE_SPLIT = re.compile(r"[。！!；;，,：:\s]")


def asked_clauses(question: str) -> str:
    """The clauses that ask: those ending in a question mark, else the last clause."""
    asked = _ASKED_CLAUSE.findall(question)
    if asked:
        return "".join(asked)
    parts = [p for p in _CLAUSE_SPLIT.split(question) if p.strip()]
    return parts[-1] if parts else question


@lru_cache(maxsize=None)
def data_lines(name: str) -> tuple[str, ...]:
    """Non-empty, non-comment ('#') lines of a vocabulary file in bot/data/, stripped; read once."""
    text = resources.files("bot").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return tuple(ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))


class _ControlTable(dict[int, "int | None"]):
    """str.translate table deleting control, format and unassigned characters (Unicode category C) except
    newline and tab; filled as characters are first seen, up to a bound."""

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        value = code if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else None
        if len(self) < 100_000:
            self[code] = value
        return value


_CONTROLS = _ControlTable()
# Characters that are never control, format or unassigned (tests/test_zh.py checks): ASCII, Latin-1, quotes
# and dashes, CJK punctuation and ideographs, full-width forms. Only runs of other characters are looked at.
_ORDINARY = "\t\n\x20-\x7e\xa1-\xac\xae-\xff\u2010-\u2027\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e"
_UNUSUAL = re.compile(f"[^{_ORDINARY}]+")


def normalize(text: str) -> str:
    """Unify newlines and odd spaces, drop control and format characters; keep full-width punctuation (it
    carries meaning in Chinese).

    Fast and lean on long texts (the loader reads files of up to 20 MB through here): ordinary text is
    scanned at C speed and returned without a copy; no list of characters is ever built.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    return _UNUSUAL.sub(lambda m: m.group().translate(_CONTROLS), text)


def squash(text: str) -> str:
    """Remove all whitespace (how evaluation compares texts)."""
    return re.sub(r"\s+", "", text)


def sentences(text: str) -> list[str]:
    """Split into sentences at Chinese and Western end marks; each keeps its mark and closing quotes."""
    out: list[str] = []
    for line in text.split("\n"):
        start = 0
        for m in _SENTENCE_END.finditer(line):
            piece = line[start : m.end()].strip()
            if piece:
                out.append(piece)
            start = m.end()
        rest = line[start:].strip()
        if rest:
            out.append(rest)
    return out


_JIEBA_LOCK = threading.Lock()
_JIEBA: list[Any] = []


def _jieba() -> Any:
    """The jieba tokenizer with our user dictionary, built once even when many threads ask at the same time."""
    if _JIEBA:
        return _JIEBA[0]
    with _JIEBA_LOCK:
        if not _JIEBA:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            path = resources.files("bot").joinpath("data").joinpath("userdict.txt")
            with resources.as_file(path) as p:
                tk.load_userdict(str(p))
            tk.initialize()
            _JIEBA.append(tk)
    return _JIEBA[0]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(data_lines("stopwords.txt"))


MAX_RUN = 256  # longest block handed to jieba in one piece
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+")  # what jieba segments as one block


def pieces(text: str) -> list[str]:
    """text in pieces for jieba: its blocks longer than MAX_RUN are cut (jieba's time grows faster than
    linearly in a block's length: 100,000 characters without punctuation took a minute); others untouched."""
    if len(text) <= MAX_RUN:
        return [text]
    out, last = [], 0
    for m in _JIEBA_BLOCK.finditer(text):
        if m.end() - m.start() > MAX_RUN:
            out.append(text[last : m.start()])
            out += [text[i : min(i + MAX_RUN, m.end())] for i in range(m.start(), m.end(), MAX_RUN)]
            last = m.end()
    out.append(text[last:])
    return [p for p in out if p]


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens (words plus their sub-words), lower-cased, without stopwords and punctuation."""
    stop = stopwords()
    tokens = []
    for piece in pieces(text):
        for tok in _jieba().cut_for_search(piece):
            tok = tok.strip().lower()
            if tok and tok not in stop and not _PUNCT_OR_SPACE.match(tok):
                tokens.append(tok)
    return tokens


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
TOKENIZER = "jieba-search+cjk-bigrams/1"  # recorded in the index manifest; change it when tokens change


def bm25_tokens(text: str) -> list[str]:
    """Words (tokenize) plus overlapping character bigrams of Chinese runs.

    Bigrams catch what segmentation splits differently in question and source ("三阶段" / "三阶赋能",
    "新进厂职工" / "新职工"); measured on the dev set they lift BM25 hit@5 and MRR.
    """
    stop = stopwords()
    grams = [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
    return tokenize(text) + [g for g in grams if g not in stop]


def vocabulary_hash() -> str:
    """Hash of the data files that shape BM25 tokens (user dictionary, stopwords)."""
    import hashlib

    h = hashlib.sha256(TOKENIZER.encode())
    for name in ("userdict.txt", "stopwords.txt"):
        h.update(resources.files("bot").joinpath("data").joinpath(name).read_bytes())
    return h.hexdigest()[:16]


def words(text: str) -> list[str]:
    """Plain jieba words (precise mode), for key-term extraction."""
    stop = stopwords()
    return [w for piece in pieces(text) for w in _jieba().lcut(piece)
            if w.strip() and w not in stop and not _PUNCT_OR_SPACE.match(w)]


# jieba part-of-speech tags of words that say what a question asks, not what it is about: adjectives and
# adverbs (最长), numerals and quantities (多久, 几天), pronouns (怎么), particles, prepositions, conjunctions.
_ASPECT_FLAGS = ("a", "d", "m", "q", "r", "u", "y", "p", "c", "e", "o", "x")
_NOUN_FLAGS = ("n", "j", "vn", "t")  # nouns, abbreviations (社保), verbal nouns (补偿), time nouns (周末)


_POS: list[Any] = []


def _pos_tokenizer() -> Any:
    """jieba's part-of-speech tagger over our tokenizer, built once under the lock (building it reloads
    dictionaries, which would disturb a segmentation running in another thread)."""
    if _POS:
        return _POS[0]
    tokenizer = _jieba()
    with _JIEBA_LOCK:
        if not _POS:
            import jieba.posseg

            _POS.append(jieba.posseg.POSTokenizer(tokenizer))
    return _POS[0]


TAGGED_CHARS = 2000  # part-of-speech tagging is for questions (at most max_query_chars); it costs ~1 ms a character


def _tagged(text: str) -> list[tuple[str, str]]:
    """POS-tagged words of the first TAGGED_CHARS characters (a longer text would take minutes)."""
    stop = stopwords()
    return [(p.word.strip(), p.flag) for piece in pieces(text[:TAGGED_CHARS]) for p in _pos_tokenizer().lcut(piece)
            if p.word.strip() and p.word.strip() not in stop and not _PUNCT_OR_SPACE.match(p.word.strip())]


def topic_words(text: str) -> list[str]:
    """Words of a text that say what it is about (试用期, 怀孕, 辞退), in order, without those that say what
    is asked about it (最长, 多久, 怎么)."""
    return list(dict.fromkeys(w for w, flag in _tagged(text) if not flag.startswith(_ASPECT_FLAGS)))


def nouns(text: str) -> list[str]:
    """The nouns of a text (including abbreviations, verbal and time nouns), in order."""
    return list(dict.fromkeys(w for w, flag in _tagged(text) if flag.startswith(_NOUN_FLAGS)))


@lru_cache(maxsize=1)
def lay_legal_table() -> tuple[tuple[str, tuple[str, ...]], ...]:
    rows = []
    for ln in data_lines("lay_legal.tsv"):
        lay, _, legal = ln.partition("\t")
        rows.append((lay.strip(), tuple(legal.split())))
    # Longest lay terms first, so "拖欠工资" wins over "工资" when both would add the same words.
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


def expand(query: str) -> str:
    """Add the legal wording for everyday words found in the query ("老板" -> "用人单位")."""
    extra: list[str] = []
    for lay, legal in lay_legal_table():
        if lay in query:
            extra.extend(t for t in legal if t not in query and t not in extra)
    return query if not extra else f"{query} {' '.join(extra)}"


@lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    places: dict[str, str] = {}
    for ln in data_lines("regions.tsv"):
        name, _, province = ln.partition("\t")
        places[name.strip()] = province.strip()
    return places


@lru_cache(maxsize=1)
def known_places() -> tuple[str, ...]:
    """Every place name of regions.tsv, longest first."""
    return tuple(sorted(_places(), key=len, reverse=True))


def is_province(place: str) -> bool:
    """Whether regions.tsv lists the place as a province (or a municipality such as 上海)."""
    return _places().get(place) == place


def in_region(region: str | None, wanted: str) -> bool:
    """Whether a passage's region lies in the wanted place ("扬州" in "扬州", "江都" in "江苏"; "扬州市" = "扬州")."""
    if not region or not wanted:
        return False
    wanted = wanted.strip()
    return wanted in region or region in wanted or wanted.rstrip("省市") == _places().get(region, "")


def places_in(text: str) -> list[str]:
    """Known place names in order of first mention (longest names first at one spot)."""
    found: dict[str, int] = {}
    for name in known_places():
        i = text.find(name)
        if i >= 0 and not any(name in other and name != other for other in found):
            found[name] = i
    return [n for n, _ in sorted(found.items(), key=lambda kv: kv[1])]


def cn_number(s: str) -> int | None:
    """Chinese numerals as used in article numbers ("八十二" -> 82, "一百零三" -> 103); None if not a number."""
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_NUM for ch in s):
        return None
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    units = {"十": 10, "百": 100, "千": 1000}
    total, current = 0, 0
    for ch in s:
        if ch in digits:
            current = digits[ch]
        else:
            total += (current or 1) * units[ch]
            current = 0
    return total + current

"""Officers' corrections of document metadata: a `<stem>.meta.json` sidecar beside a document.

    {"*": {"region": "南京"},                          # every document of the file
     "3f2a9c0d1e-01": {"org": "南京市总工会", "date": "2024-05-01", "doc_type": "case"}}

Keys are document ids (a newsletter file holds one document per article) or "*"; a field set to null clears
what the splitter found. The index applies the sidecar after splitting, so a correction survives re-indexing.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.types import Passage

META_SUFFIX = ".meta.json"
FIELDS = ("region", "org", "date", "doc_type")
DOC_TYPES = ("law", "case", "news")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
MAX_CHARS = {"region": 32, "org": 80}


class InvalidMetadata(ValueError):
    """A correction that cannot be applied (the message says which field, in Chinese)."""


def meta_path(document: Path) -> Path:
    """Where a document's corrections live: `<stem>.meta.json` beside it."""
    return document.with_name(document.stem + META_SUFFIX)


def check(fields: dict[str, Any]) -> dict[str, str | None]:
    """Validated corrections: only known fields; empty strings become null."""
    out: dict[str, str | None] = {}
    for key, value in fields.items():
        if key not in FIELDS:
            raise InvalidMetadata(f"不能修改字段 {key}（可改：地区、单位、日期、类型）")
        value = (str(value).strip() or None) if value is not None else None
        if key == "doc_type" and value not in DOC_TYPES:
            raise InvalidMetadata("类型只能是 law（法律法规）、case（工作案例）或 news（新闻报道）")
        if key == "date" and value is not None and not _DATE.match(value):
            raise InvalidMetadata("日期格式应为 2024、2024-05 或 2024-05-01")
        if key in MAX_CHARS and value is not None and len(value) > MAX_CHARS[key]:
            raise InvalidMetadata(f"{key} 最多 {MAX_CHARS[key]} 字")
        out[key] = value
    return out


def read_meta(path: Path) -> tuple[dict[str, dict[str, str | None]], list[str]]:
    """The corrections of one sidecar by document id ("*" for all), and problems (reported, never fatal)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as e:
        return {}, [f"无法读取元数据文件：{e}"]
    if not isinstance(data, dict):
        return {}, ["元数据文件应为 JSON 对象 {文档编号: {字段: 值}}"]
    out: dict[str, dict[str, str | None]] = {}
    problems: list[str] = []
    for doc_id, fields in data.items():
        if not isinstance(fields, dict):
            problems.append(f"{doc_id}：应为 JSON 对象")
            continue
        try:
            out[str(doc_id)] = check({k: v for k, v in fields.items() if k in FIELDS})
        except InvalidMetadata as e:
            problems.append(f"{doc_id}：{e}")
    return out, problems


def apply_meta(passages: list[Passage], corrections: dict[str, dict[str, str | None]]) -> tuple[list[Passage], list[str]]:
    """Passages with the corrections applied; document ids that match nothing are reported."""
    doc_ids = {p.doc_id for p in passages}
    problems = [f"文档 {d} 不在此文件中，更正未应用" for d in corrections if d != "*" and d not in doc_ids]
    out = []
    for p in passages:
        fields = {**corrections.get("*", {}), **corrections.get(p.doc_id, {})}
        out.append(replace(p, **fields) if fields else p)  # type: ignore[arg-type]
    return out, problems


def write_meta(document: Path, doc_id: str, fields: dict[str, Any], title: str = "") -> dict[str, Any]:
    """Merge corrections of one document into its file's sidecar (written atomically); returns the entry."""
    path = meta_path(document)
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8-sig"))
            data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            data = {}
    entry = {k: v for k, v in (data.get(doc_id) or {}).items() if k in FIELDS or k == "title"}
    entry.update(check(fields))
    if title:
        entry["title"] = title  # for people reading the file; never applied
    data[doc_id] = entry
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return entry

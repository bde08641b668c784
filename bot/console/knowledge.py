"""Console API for the knowledge base: documents and files, upload, passages of a document, metadata
corrections, deleting a file, and rebuilding the index with streamed progress."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from bot.api.errors import NotFound
from bot.console.accounts import Invalid
from bot.console.auth import OfficerDep
from bot.console.rebuild import Rebuilder
from bot.load import SKIPPED_NAMES, SUFFIXES, UnreadableFile, read_file
from bot.metadata import FIELDS, META_SUFFIX, InvalidMetadata, meta_path, read_meta, write_meta
from bot.questions import sidecar_path
from bot.split import split

router = APIRouter(prefix="/console/api", include_in_schema=False)
UPLOAD_PATH = "/console/api/documents/upload"
MAX_NAME_CHARS = 120


class MetadataIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str | None = None
    org: str | None = None
    date: str | None = None
    doc_type: str | None = None


def rebuilder(request: Request) -> Rebuilder:
    state = request.app.state
    if getattr(state, "rebuilder", None) is None:
        state.rebuilder = Rebuilder(request.app)
    return state.rebuilder


def _docs_dir(request: Request) -> Path:
    return Path(request.app.state.settings.documents_dir)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _disk_files(folder: Path) -> dict[str, Path]:
    """Indexable files below the documents folder by relative path (as bot.load reads them)."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in SUFFIXES and path.name.lower() not in SKIPPED_NAMES:
            out[rel.as_posix()] = path
    return out


def _manifest(request: Request) -> dict[str, Any]:
    assistant = request.app.state.assistant
    return assistant.index.manifest if assistant is not None else {}


@router.get("/documents")
def documents(_: OfficerDep, request: Request) -> dict[str, Any]:
    """Indexed documents with their metadata, and every file with its state against the index."""
    assistant, manifest = request.app.state.assistant, _manifest(request)
    indexed_files: dict[str, Any] = manifest.get("files", {})
    folder = _docs_dir(request)
    docs: dict[str, dict[str, Any]] = {}
    if assistant is not None:
        for p in assistant.index.passages:
            d = docs.get(p.doc_id)
            if d is None:
                d = docs[p.doc_id] = {
                    "doc_id": p.doc_id, "title": p.title, "doc_type": p.doc_type, "org": p.org, "region": p.region,
                    "date": p.date, "source_file": p.source_file, "passages": 0,
                    "indexed_at": indexed_files.get(p.source_file, {}).get("indexed_at", manifest.get("built_at")),
                }
            d["passages"] += 1
    files = []
    disk = _disk_files(folder)
    for rel, path in disk.items():
        old = indexed_files.get(rel)
        side = PurePosixPath(rel).with_name(PurePosixPath(rel).stem + META_SUFFIX).as_posix()
        meta_file = folder / side
        meta_now = _sha(meta_file) if meta_file.is_file() else None
        if old is None:
            status = "new"
        elif old.get("sha256") != _sha(path) or manifest.get("metadata", {}).get(side) != meta_now:
            status = "changed"
        else:
            status = "indexed"
        files.append({"path": rel, "size": path.stat().st_size, "status": status,
                      "documents": sum(1 for d in docs.values() if d["source_file"] == rel)})
    files += [{"path": rel, "size": 0, "status": "deleted", "documents": 0} for rel in indexed_files if rel not in disk]
    build = rebuilder(request).current
    return {"built_at": manifest.get("built_at"), "documents": list(docs.values()), "files": files,
            "pending": sum(f["status"] != "indexed" for f in files), "loaded": assistant is not None,
            "rebuild": _build_state(build)}


@router.get("/documents/{doc_id}")
def document(doc_id: str, _: OfficerDep, request: Request) -> dict[str, Any]:
    """Exactly how a document was split: its passages in order, each with its attached lay questions."""
    assistant = request.app.state.assistant
    rows = assistant.index.rows_of_doc.get(doc_id) if assistant is not None else None
    if not rows:
        raise NotFound(f"找不到文档 {doc_id}（新上传的文件需要先重建索引）。")
    index = assistant.index
    asked: dict[int, list[dict[str, str]]] = {}
    for q in index.questions:
        if q.row in rows:
            asked.setdefault(q.row, []).append({"text": q.text, "source": q.source})
    first = index.passages[rows[0]]
    fixes, _problems = read_meta(meta_path(_docs_dir(request) / first.source_file))
    corrected = {**fixes.get("*", {}), **fixes.get(doc_id, {})}
    return {
        "doc_id": doc_id, "title": first.title, "doc_type": first.doc_type, "org": first.org, "region": first.region,
        "date": first.date, "source_file": first.source_file, "column": first.column, "corrected": corrected,
        "indexed_at": index.manifest.get("files", {}).get(first.source_file, {}).get("indexed_at"),
        "passages": [{**index.passages[r].to_dict(), "label": index.passages[r].label, "chars": len(index.passages[r].text),
                      "questions": asked.get(r, [])} for r in rows],
    }


@router.post("/documents/{doc_id}/metadata")
def correct_metadata(doc_id: str, body: MetadataIn, officer: OfficerDep, request: Request) -> dict[str, Any]:
    """Write corrections to the file's `<stem>.meta.json`; they apply from the next rebuild on."""
    assistant = request.app.state.assistant
    rows = assistant.index.rows_of_doc.get(doc_id) if assistant is not None else None
    if not rows:
        raise NotFound(f"找不到文档 {doc_id}。")
    first = assistant.index.passages[rows[0]]
    fields = body.model_dump(exclude_unset=True)
    if not fields:
        raise Invalid("没有要修改的字段。")
    try:
        entry = write_meta(_docs_dir(request) / first.source_file, doc_id, fields, first.title)
    except InvalidMetadata as e:
        raise Invalid(str(e)) from e
    before = {k: getattr(first, k) for k in fields}
    request.app.state.store.console.audit(officer.name, "metadata_correct", f"{first.source_file}#{doc_id}",
                                          {"before": before, "after": {k: entry.get(k) for k in fields}})
    return {"doc_id": doc_id, "corrected": {k: v for k, v in entry.items() if k in FIELDS}}


def _safe_name(name: str) -> str:
    """The file name an upload is saved under (no folders, no hidden files, a readable format)."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    suffix = PurePosixPath(base).suffix.lower()
    if not base or base.startswith(".") or len(base) > MAX_NAME_CHARS:
        raise Invalid("文件名无效。")
    if suffix not in SUFFIXES or base.lower() in SKIPPED_NAMES:
        raise Invalid(f"不支持的格式 {suffix or '（无扩展名）'}：可上传 {'、'.join(sorted(SUFFIXES))}。")
    return base


def _save_upload(folder: Path, name: str, raw: bytes, min_chars: int, max_chars: int) -> dict[str, Any]:
    """Check that the file reads like `unionbot index` reads it, then move it into place; the per-file report."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / f".upload-{uuid.uuid4().hex}{target.suffix}"
    tmp.write_bytes(raw)
    try:
        source = read_file(tmp, name)
    except UnreadableFile as e:
        tmp.unlink(missing_ok=True)
        return {"name": name, "status": "skipped", "reason": str(e)}
    passages = split(source, min_chars, max_chars)
    replaced = target.exists()
    tmp.replace(target)
    kinds = sorted({p.doc_type for p in passages})
    return {"name": name, "status": "replaced" if replaced else "read", "chars": len(source.text),
            "passages": len(passages), "documents": len({p.doc_id for p in passages}), "kinds": kinds,
            "encoding": source.encoding}


@router.post(UPLOAD_PATH.removeprefix("/console/api"))
async def upload(
    officer: OfficerDep, request: Request, name: Annotated[str, Query(min_length=1, max_length=300)]
) -> dict[str, Any]:
    """One file per request (the page sends each dropped file in turn), as the raw request body."""
    settings = request.app.state.settings
    try:
        safe = _safe_name(name)
    except Invalid as e:
        return {"name": name, "status": "skipped", "reason": str(e)}
    raw = await request.body()
    if not raw:
        return {"name": safe, "status": "skipped", "reason": "文件为空"}
    report = await run_in_threadpool(_save_upload, _docs_dir(request), safe, raw, settings.passage_min_chars,
                                     settings.passage_max_chars)
    if report["status"] != "skipped":
        request.app.state.store.console.audit(officer.name, "document_upload", safe,
                                              {"bytes": len(raw), "replaced": report["status"] == "replaced"})
    return report


@router.delete("/files")
def delete_file(
    officer: OfficerDep, request: Request, path: Annotated[str, Query(min_length=1, max_length=500)]
) -> dict[str, Any]:
    """Delete a file of the documents folder with its sidecars; it leaves the index at the next rebuild."""
    folder = _docs_dir(request).resolve()
    target = (folder / path).resolve()
    if folder not in target.parents or path not in _disk_files(folder):
        raise NotFound("文档目录中没有这个文件。")
    removed = [path]
    target.unlink()
    for side in (sidecar_path(target), meta_path(target)):
        if side.exists():
            side.unlink()
            removed.append(side.relative_to(folder).as_posix())
    request.app.state.store.console.audit(officer.name, "document_delete", path, {"removed": removed})
    return {"removed": removed}


def _build_state(build: Any) -> dict[str, Any] | None:
    if build is None:
        return None
    return {"id": build.id, "started_by": build.started_by, "started_at": build.started_at, "done": build.done,
            "ok": build.ok, "events": build.events[-50:]}


@router.post("/rebuild", status_code=202)
def start_rebuild(officer: OfficerDep, request: Request) -> dict[str, Any]:
    build, started = rebuilder(request).start(officer.name)
    if started:
        request.app.state.store.console.audit(officer.name, "index_rebuild", str(request.app.state.settings.index_dir))
    return {"started": started, **(_build_state(build) or {})}


@router.get("/rebuild")
def rebuild_state(_: OfficerDep, request: Request) -> dict[str, Any]:
    return {"rebuild": _build_state(rebuilder(request).current)}


@router.get("/rebuild/events")
async def rebuild_events(_: OfficerDep, request: Request) -> StreamingResponse:
    """The current build's progress as Server-Sent Events (`event: progress`, then `event: end`)."""
    build = rebuilder(request).current

    async def events() -> AsyncIterator[str]:
        if build is None:
            yield "event: end\ndata: {\"ok\": false, \"message\": \"没有正在进行的重建\"}\n\n"
            return
        sent = 0
        while True:
            while sent < len(build.events):
                yield f"id: {sent}\nevent: progress\ndata: {json.dumps(build.events[sent], ensure_ascii=False)}\n\n"
                sent += 1
            if build.done and sent >= len(build.events):
                yield f"event: end\ndata: {json.dumps({'ok': build.ok}, ensure_ascii=False)}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.2)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

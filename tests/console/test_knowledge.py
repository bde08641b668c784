"""Console knowledge base: upload with a per-file report, documents and their passages, metadata corrections that
survive re-indexing, deleting a file, a rebuild streamed and swapped in without a restart."""

from __future__ import annotations

import io
import json
import time

from fastapi.testclient import TestClient

from bot.config import Settings
from bot.metadata import meta_path
from bot.questions import sidecar_path

from .conftest import Signed, docs_dir

NEW_TEXT = """# 南京工会帮扶中心简讯

南京市总工会 赵六

2025年，南京市总工会在新街口建成职工帮扶中心，为困难职工提供助学、医疗和法律援助，全年帮扶职工两千余人。
"""


def rebuild(admin: Signed) -> list[dict]:
    r = admin.post("/console/api/rebuild", json={})
    assert r.status_code == 202 and r.json()["started"]
    deadline = time.monotonic() + 120
    while not admin.get("/console/api/rebuild").json()["rebuild"]["done"]:
        assert time.monotonic() < deadline, "the rebuild did not finish"
        time.sleep(0.1)
    events = admin.get("/console/api/rebuild").json()["rebuild"]["events"]
    assert events[-1]["stage"] == "done", events
    return events


def test_upload_reports_each_file_and_the_rebuild_serves_it(admin: Signed, console_settings: Settings) -> None:
    r = admin.post("/console/api/documents/upload?name=南京简讯.md", content=NEW_TEXT.encode())
    assert r.json() == {"name": "南京简讯.md", "status": "read", "chars": r.json()["chars"], "passages": 1,
                        "documents": 1, "kinds": ["case"], "encoding": "utf-8"}
    assert admin.post("/console/api/documents/upload?name=空.txt", content=b"   ").json()["status"] == "skipped"
    bad = admin.post("/console/api/documents/upload?name=坏.pdf", content=b"%PDF-1.4 not really").json()
    assert bad["status"] == "skipped" and "PDF" in bad["reason"]
    assert admin.post("/console/api/documents/upload?name=../../etc/x.exe", content=b"x").json()["status"] == "skipped"
    escaped = (NEW_TEXT + "\n路径里的 ../ 被去掉，文件留在文档目录中。\n").encode()  # not a duplicate: those are indexed once
    assert admin.post("/console/api/documents/upload?name=../逃逸.md", content=escaped).json()["name"] == "逃逸.md"
    assert not (docs_dir(console_settings) / "坏.pdf").exists()
    listing = admin.get("/console/api/documents").json()
    states = {f["path"]: f["status"] for f in listing["files"]}
    assert states["南京简讯.md"] == "new" and listing["pending"] == 2
    assert not any("南京" in d["title"] for d in listing["documents"])

    before = admin.client.app.state.assistant
    events = rebuild(admin)
    assert {"start", "loaded", "split", "embedding", "writing", "loading", "done"} <= {e["stage"] for e in events}
    assert admin.client.app.state.assistant is not before  # swapped without a restart
    hits = admin.client.post("/api/search", json={"query": "职工帮扶中心 助学", "top_k": 3}).json()["results"]
    assert hits and "南京" in hits[0]["title"]
    listing = admin.get("/console/api/documents").json()
    assert listing["pending"] == 0
    doc = next(d for d in listing["documents"] if "南京" in d["title"])
    assert doc["region"] == "南京" and doc["passages"] == 1 and doc["indexed_at"]

    # The stream replays the finished build's events and ends.
    with admin.client.stream("GET", "/console/api/rebuild/events") as s:
        body = "".join(s.iter_text())
    assert "event: progress" in body and body.rstrip().endswith('data: {"ok": true}')
    actions = [a["action"] for a in admin.get("/console/api/audit").json()["items"]]
    assert actions.count("document_upload") == 2 and "index_rebuild" in actions


def test_a_document_shows_its_passages_and_a_correction_survives_rebuilds(admin: Signed, console_settings: Settings) -> None:
    listing = admin.get("/console/api/documents").json()
    doc = next(d for d in listing["documents"] if d["title"].startswith("宁波北仑"))
    view = admin.get(f"/console/api/documents/{doc['doc_id']}").json()
    assert [p["position"] for p in view["passages"]] == list(range(len(view["passages"])))
    assert "工资集体协商" in "".join(p["text"] for p in view["passages"])
    assert view["region"] != "南京"

    r = admin.post(f"/console/api/documents/{doc['doc_id']}/metadata", json={"region": "南京", "date": "2023-05"})
    assert r.status_code == 200 and r.json()["corrected"] == {"region": "南京", "date": "2023-05"}
    assert admin.post(f"/console/api/documents/{doc['doc_id']}/metadata", json={"date": "五月"}).status_code == 422
    assert admin.post(f"/console/api/documents/{doc['doc_id']}/metadata", json={"doc_type": "poem"}).status_code == 422
    side = meta_path(docs_dir(console_settings) / doc["source_file"])
    assert json.loads(side.read_text(encoding="utf-8"))[doc["doc_id"]]["region"] == "南京"
    assert {f["path"]: f["status"] for f in admin.get("/console/api/documents").json()["files"]}[doc["source_file"]] == "changed"

    facets = admin.client.post("/api/search", json={"query": "工资集体协商"}).json()["facets"]["region"]
    assert "南京" not in facets
    rebuild(admin)
    view = admin.get(f"/console/api/documents/{doc['doc_id']}").json()
    assert (view["region"], view["date"], view["corrected"]) == ("南京", "2023-05", {"region": "南京", "date": "2023-05"})
    assert "南京" in admin.client.post("/api/search", json={"query": "工资集体协商"}).json()["facets"]["region"]
    # A second, unrelated rebuild (from the command line too) keeps the correction.
    from bot.index import build_index
    build_index(console_settings, rebuild=True)
    rebuild(admin)
    assert admin.get(f"/console/api/documents/{doc['doc_id']}").json()["region"] == "南京"
    audit = admin.get("/console/api/audit?action=metadata_correct").json()["items"]
    assert audit[0]["detail"]["after"] == {"region": "南京", "date": "2023-05"}


def test_deleting_a_file_removes_it_and_its_sidecars_after_the_rebuild(admin: Signed, console_settings: Settings) -> None:
    folder = docs_dir(console_settings)
    name = "工会简讯.txt"
    sidecar_path(folder / name).write_text("\t扬州驿站在哪里\n", encoding="utf-8")
    assert admin.delete("/console/api/files?path=../secret.txt").status_code == 404
    r = admin.delete("/console/api/files", params={"path": name})
    assert r.status_code == 200 and r.json()["removed"] == [name, "工会简讯.questions.tsv"]
    assert not (folder / name).exists()
    states = {f["path"]: f["status"] for f in admin.get("/console/api/documents").json()["files"]}
    assert states[name] == "deleted"
    rebuild(admin)
    listing = admin.get("/console/api/documents").json()
    assert name not in {f["path"] for f in listing["files"]}
    assert not any(d["source_file"] == name for d in listing["documents"])


def test_uploads_larger_than_the_api_limit_are_accepted_up_to_the_upload_limit(admin: Signed) -> None:
    body = ("第一段。" * 20000).encode()  # ~240 KB, over max_body_bytes (64 KB)
    r = admin.post("/console/api/documents/upload?name=长文.txt", content=body)
    assert r.status_code == 200 and r.json()["status"] == "read"
    assert admin.client.post("/api/feedback", content=body, headers={"Content-Type": "application/json"}).status_code == 413


def test_a_docx_upload_is_read(admin: Signed) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("宿迁市总工会开展户外劳动者夏季送清凉活动，为环卫工人送去防暑药品。")
    buf = io.BytesIO()
    d.save(buf)
    r = admin.post("/console/api/documents/upload?name=送清凉.docx", content=buf.getvalue()).json()
    assert r["status"] == "read" and r["encoding"] == "docx"


def test_officers_see_the_knowledge_base_but_signed_out_clients_do_not(officer: Signed, app_client: TestClient) -> None:
    assert officer.get("/console/api/documents").status_code == 200
    with TestClient(app_client.app) as anonymous:
        assert anonymous.get("/console/api/documents").status_code == 401
        assert anonymous.post("/console/api/rebuild").status_code == 401

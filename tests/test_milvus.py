"""The Milvus vector store against a real milvus-lite server (started in this process by pymilvus; no mocks)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from bot import milvus_store  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.errors import BackendError, IndexMismatch  # noqa: E402
from bot.index import build_index, load_index, windows  # noqa: E402
from bot.types import Filters  # noqa: E402

QUERIES = ["老板拖欠工资怎么办", "工会驿站有多少家", "年休假有几天", "货车司机入会", "加班费怎么算", "职代会提案", "怀孕了会被辞退吗"]
SIDECAR = "第三条\t老板一直不发工资我该找谁？\n第三条\t工资被拖了三个月怎么办\n第四条\t一年能休几天假\n"


def milvus_settings(base: Settings, tmp_path: Path, name: str = "milvus", **changes: object) -> Settings:
    """The same documents indexed into a milvus-lite file under tmp_path."""
    return base.model_copy(update={"vector_store": "milvus", "index_dir": tmp_path / f"index-{name}",
                                   "milvus_uri": str(tmp_path / f"{name}.db"), **changes})


@pytest.fixture
def docs_with_questions(settings: Settings) -> Settings:
    """The tiny corpus with officers' lay questions on two statute articles (lay-question entries)."""
    (settings.documents_dir / "职工权益保障示范条例(2020-01-01).questions.tsv").write_text(SIDECAR, encoding="utf-8")
    return settings


@pytest.fixture
def lite(tmp_path: Path, docs_with_questions: Settings) -> Iterator[Settings]:
    s = milvus_settings(docs_with_questions, tmp_path)
    yield s
    milvus_store.release(milvus_store.Target.of(s))


def _client(s: Settings):  # type: ignore[no-untyped-def]
    return milvus_store.connect(milvus_store.Target.of(s))


def _rows(s: Settings, collection: str, expr: str, fields: list[str]) -> list[dict]:
    client = _client(s)
    try:
        return client.query(collection, filter=expr, output_fields=fields, limit=1000)
    finally:
        client.close()


def test_build_puts_entries_in_milvus_and_passages_in_the_folder(lite: Settings):
    report = build_index(lite)
    assert report.questions == 3 and not report.errors
    folder = {p.name for p in lite.index_dir.iterdir()}
    assert {"manifest.json", "passages.jsonl", "questions.jsonl"} <= folder and "vectors.faiss" not in folder
    manifest = json.loads((lite.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["store"] == {"kind": "milvus", "uri": lite.milvus_uri, "collection": "unionbot", "bm25": "tokens"}
    idx = load_index(lite.index_dir, settings=lite)
    n_windows = sum(len(windows(p)) for p in idx.passages)
    assert idx.stats()["vectors"] == n_windows == report.embedded - 3
    entries = _rows(lite, "unionbot_entries", "", ["kind", "passage_id", "doc_type", "region", "year", "title", "article"])
    assert sorted(e["kind"] for e in entries) == ["passage"] * len(idx.passages) + ["question"] * 3
    law = next(e for e in entries if e["kind"] == "question")
    assert law["doc_type"] == "law" and law["article"] in ("第三条", "第四条") and law["year"] == 2020
    # the sparse field is made by Milvus's own BM25 function from the text field
    client = _client(lite)
    try:
        functions = client.describe_collection("unionbot_entries")["functions"]
    finally:
        client.close()
    assert [(f["input_field_names"], f["output_field_names"]) for f in functions] == [(["text"], ["sparse"])]
    assert build_index(lite).up_to_date


def test_search_similar_and_facets_match_the_faiss_store(docs_with_questions: Settings, lite: Settings):
    build_index(docs_with_questions)
    build_index(lite)
    faiss_bot, milvus_bot = Assistant.from_settings(docs_with_questions), Assistant.from_settings(lite)
    try:
        for q in QUERIES:
            f, m = faiss_bot.search(q, 5), milvus_bot.search(q, 5)
            assert [h.passage.id for h in m] == [h.passage.id for h in f], q
            assert [h.score for h in m] == pytest.approx([h.score for h in f]), q
            assert [h.dense_score for h in m] == pytest.approx([h.dense_score for h in f], abs=1e-5), q
            assert [h.sparse_score for h in m] == pytest.approx([h.sparse_score for h in f], rel=1e-4), q
        hit = faiss_bot.search("货车司机入会", 1)[0]
        assert [h.passage.id for h in milvus_bot.similar(hit.passage.id, 3)] == [h.passage.id for h in faiss_bot.similar(hit.passage.id, 3)]
        assert milvus_bot.facets("工会") == faiss_bot.facets("工会")
        assert milvus_bot.facets("工资", Filters(doc_type="case")) == faiss_bot.facets("工资", Filters(doc_type="case"))
        assert milvus_bot.ask("老板不发工资我该找谁").citations[0].passage.article == "第三条"
    finally:
        faiss_bot.close()
        milvus_bot.close()


def test_filters_become_filter_expressions(lite: Settings):
    build_index(lite)
    bot = Assistant.from_settings(lite)
    try:
        passages = bot.index.passages
        assert milvus_store.expression(Filters(doc_type="law", year_from=2020), passages) == \
            'doc_type == "law" and year > 0 and year >= 2020'
        assert milvus_store.expression(Filters(region="浙江"), passages) == 'region in ["宁波"]'
        assert {h.passage.doc_type for h in bot.search("工会", 10, Filters(doc_type="law"))} == {"law"}
        hits = bot.search("工资", 10, Filters(region="宁波"))
        assert hits and {h.passage.region for h in hits} == {"宁波"}
        years = bot.search("工会", 10, Filters(year_from=2024, year_to=2024))
        assert years and {h.passage.year for h in years} == {2024}
        assert bot.search("工会", 10, Filters(region="拉萨")) == []
        assert {h.passage.org for h in bot.search("工会", 10, Filters(org="淮安"))} == {"淮安市总工会"}
        # the filter is applied inside Milvus: every entry it returns passes it
        store = bot.index.store
        scope = bot.retriever.scope(Filters(doc_type="case", year_from=2023))
        qv = bot.retriever.query_vector("工会")
        rows = list(store.windows(qv, 100, scope).rows) + list(store.bm25(["工会"], 100, scope)[0].questions.rows)
        assert rows and all(passages[r].doc_type == "case" and (passages[r].year or 0) >= 2023 for r in rows)
    finally:
        bot.close()


def test_changed_file_is_upserted_and_its_old_text_is_gone(lite: Settings):
    first = build_index(lite)
    news = lite.documents_dir / "工会简讯.txt"
    text = news.read_text(encoding="utf-8").replace("工会驿站120家", "工会驿站180家").replace("扫码入会", "亮证入会")
    news.write_text(text, encoding="utf-8")
    r = build_index(lite)
    assert r.changed_files == ["工会简讯.txt"] and r.removed_files == []
    assert 0 < r.embedded < first.embedded and r.reused > 0  # only the changed windows are embedded again
    bot = Assistant.from_settings(lite)
    try:
        assert "180家" in bot.search("扬州建成了多少家工会驿站", 1)[0].passage.text
        assert bot.retriever.matching("亮证") and not bot.retriever.matching("扫码")  # BM25 inside Milvus
        ids = {p.id for p in bot.index.passages}
        stored = _rows(lite, "unionbot_windows", 'source_file == "工会简讯.txt"', ["passage_id"])
        assert stored and {w["passage_id"] for w in stored} <= ids
        assert bot.stats()["vectors"] == sum(len(windows(p)) for p in bot.index.passages)
    finally:
        bot.close()


def test_removed_file_is_deleted_from_milvus(lite: Settings):
    build_index(lite)
    (lite.documents_dir / "淮安简讯.txt").unlink()
    r = build_index(lite)
    assert r.removed_files == ["淮安简讯.txt"] and r.embedded == 0
    for collection in ("unionbot_entries", "unionbot_windows"):
        assert _rows(lite, collection, 'source_file == "淮安简讯.txt"', ["id"]) == []
    bot = Assistant.from_settings(lite)
    try:
        assert all(h.passage.source_file != "淮安简讯.txt" for h in bot.search("职代会提案直通车", 10))
    finally:
        bot.close()


def test_switching_stores_reuses_the_vectors(docs_with_questions: Settings, tmp_path: Path):
    build_index(docs_with_questions)
    s = milvus_settings(docs_with_questions, tmp_path, index_dir=docs_with_questions.index_dir)
    try:
        to_milvus = build_index(s)
        assert to_milvus.changed_files and to_milvus.embedded == 0 and to_milvus.reused > 0
        with pytest.raises(IndexMismatch):
            load_index(s.index_dir, settings=docs_with_questions)  # built for Milvus, the settings say FAISS
        back = build_index(docs_with_questions)
        assert back.embedded == 0 and back.reused == to_milvus.reused
    finally:
        milvus_store.release(milvus_store.Target.of(s))


def test_an_interrupted_sync_is_redone_by_the_next_build(lite: Settings, monkeypatch: pytest.MonkeyPatch):
    build_index(lite)
    (lite.documents_dir / "新增.txt").write_text("新标题\n\n某区总工会 赵六\n\n" + "工会为职工办实事。" * 30, encoding="utf-8")
    real = milvus_store._upsert

    def upsert_then_die(client, collection, rows, batch=512):  # type: ignore[no-untyped-def]
        real(client, collection, rows, batch)
        raise KeyboardInterrupt  # killed after the entries, before the windows

    monkeypatch.setattr(milvus_store, "_upsert", upsert_then_die)
    with pytest.raises(KeyboardInterrupt):
        build_index(lite)
    monkeypatch.setattr(milvus_store, "_upsert", real)
    r = build_index(lite)  # the old manifest still stands, but the sync marker makes it write everything
    assert not r.up_to_date and "新增.txt" in r.changed_files and len(r.changed_files) == 4
    bot = Assistant.from_settings(lite)
    try:
        assert bot.search("工会为职工办实事", 1)[0].passage.source_file == "新增.txt"
    finally:
        bot.close()
    assert build_index(lite).up_to_date


@pytest.mark.parametrize("fusion", ["rrf", "weighted"])
def test_native_hybrid_search_option(lite: Settings, fusion: str):
    build_index(lite)
    s = lite.model_copy(update={"milvus_fusion": fusion})
    bot = Assistant.from_settings(s)
    try:
        hits = bot.search("老板拖欠工资怎么办", 3)
        assert len(hits) == 3 and hits[0].passage.article == "第三条"
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert {h.passage.doc_type for h in bot.search("工会", 5, Filters(doc_type="case"))} == {"case"}
    finally:
        bot.close()


def test_jieba_analyzer_of_milvus_indexes_and_finds(docs_with_questions: Settings, tmp_path: Path):
    """milvus_bm25 = "jieba": Milvus's own jieba analyzer (with our dictionary and stop words) tokenizes."""
    s = milvus_settings(docs_with_questions, tmp_path, "jieba", milvus_bm25="jieba")
    try:
        build_index(s)
        bot = Assistant.from_settings(s)
        try:
            hits = bot.search("工会驿站有多少家", 2)
            assert "120家" in hits[0].passage.text and hits[0].sparse_rank == 1
        finally:
            bot.close()
    finally:
        milvus_store.release(milvus_store.Target.of(s))


def test_without_pymilvus_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(BackendError, match=r"pip install 'unionbot\[milvus\]'"):
        milvus_store.connect(milvus_store.Target("http://127.0.0.1:1"))


def test_milvus_lite_runs_with_one_blas_thread(lite: Settings):
    """milvus-lite computes with numpy in this process; with more than one OpenBLAS thread it fought the embedder's
    OpenMP threads and search p50 on the reference corpus went from 56 ms to 128 ms (README "Milvus")."""
    from threadpoolctl import threadpool_info

    _client(lite)
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas), blas

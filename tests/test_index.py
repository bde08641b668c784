import json
import os
from pathlib import Path

import pytest

from bot.config import Settings
from bot.embed import FakeEmbedder
from bot.errors import IndexMismatch, IndexNotFound
from bot.index import build_index, load_index


class CountingEmbedder(FakeEmbedder):
    """Fake embedder that counts the passages it embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def encode(self, texts, is_query):  # type: ignore[no-untyped-def]
        if not is_query:
            self.count += len(texts)
        return super().encode(texts, is_query)


def test_build_writes_manifest_passages_faiss_and_bm25(settings: Settings):
    report = build_index(settings)
    idx = load_index(settings.index_dir)
    assert report.files == 3 and report.passages == len(idx.passages)
    assert idx.faiss_index.ntotal == len(idx.window_rows) == report.embedded > len(idx.passages)
    assert set(idx.window_rows.tolist()) == set(range(len(idx.passages)))  # every passage has windows
    m = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["embedder"] == {"name": "fake", "model": "hashed-char-bigrams", "dim": 256}
    assert set(m["files"]) == {"职工权益保障示范条例(2020-01-01).md", "工会简讯.txt", "淮安简讯.txt"}
    assert m["files"]["淮安简讯.txt"]["encoding"] == "gb18030"
    assert (settings.index_dir / "bm25").is_dir()


def test_rerun_embeds_only_new_or_changed_documents_and_drops_deleted(settings: Settings):
    emb = CountingEmbedder()
    build_index(settings, embedder=emb)
    first = emb.count
    assert build_index(settings, embedder=emb).up_to_date and emb.count == first

    docs = settings.documents_dir
    (docs / "新增.txt").write_text("新标题\n\n某区总工会 赵六\n\n" + "工会为职工办实事。" * 30, encoding="utf-8")
    (docs / "淮安简讯.txt").unlink()
    emb.count = 0
    r = build_index(settings, embedder=emb)
    assert r.changed_files == ["新增.txt"] and r.removed_files == ["淮安简讯.txt"]
    assert emb.count == r.embedded and 0 < r.embedded < r.embedded + r.reused
    idx = load_index(settings.index_dir)
    assert not any(p.source_file == "淮安简讯.txt" for p in idx.passages)
    assert any(p.source_file == "新增.txt" for p in idx.passages)
    emb.count = 0
    build_index(settings, embedder=emb, rebuild=True)
    assert emb.count == idx.faiss_index.ntotal


def test_crash_mid_build_keeps_the_old_index(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    build_index(settings)
    before = load_index(settings.index_dir).passages
    (settings.documents_dir / "新增.txt").write_text("工会新闻。" * 50, encoding="utf-8")

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr("bot.index._swap", boom)
    with pytest.raises(RuntimeError):
        build_index(settings)
    assert load_index(settings.index_dir).passages == before


def test_crash_between_the_two_renames_is_recovered(settings: Settings):
    build_index(settings)
    old = settings.index_dir.with_name(f".{settings.index_dir.name}.old")
    os.rename(settings.index_dir, old)  # as if the process died after the first rename
    idx = load_index(settings.index_dir)
    assert idx.passages and not old.exists()


def test_unreadable_files_are_skipped_and_reported(settings: Settings):
    (settings.documents_dir / "坏文件.pdf").write_bytes(b"%PDF-broken")
    r = build_index(settings)
    assert [p for p, _ in r.errors] == ["坏文件.pdf"] and r.files == 3


def test_missing_or_mismatched_index_says_what_to_run(settings: Settings, tmp_path: Path):
    with pytest.raises(IndexNotFound, match="unionbot index"):
        load_index(tmp_path / "none")
    build_index(settings)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        load_index(settings.index_dir, FakeEmbedder(dim=64))


def test_a_new_splitter_resplits_unchanged_files_and_reuses_vectors(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    emb = CountingEmbedder()
    build_index(settings, embedder=emb)
    monkeypatch.setattr("bot.index._splitter_hash", lambda: "changed")
    emb.count = 0
    r = build_index(settings, embedder=emb)
    assert not r.up_to_date and r.embedded == 0 and r.reused == load_index(settings.index_dir).faiss_index.ntotal
    assert json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))["split"]["code"] == "changed"

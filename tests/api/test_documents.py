"""GET /api/documents/{id} and /similar."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _hit(client: TestClient, query: str) -> dict:
    return client.post("/api/search", json={"query": query}).json()["results"][0]


def test_document_of_a_passage_has_its_position(client: TestClient) -> None:
    hit = _hit(client, "未订立书面劳动合同 二倍工资")
    r = client.get(f"/api/documents/{hit['id']}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["title"] == "劳动合同法" and doc["doc_type"] == "law"
    assert doc["passages"][doc["focus"]]["id"] == hit["id"]
    assert [p["position"] for p in doc["passages"]] == list(range(len(doc["passages"])))
    assert len(doc["passages"]) >= 4


def test_document_by_doc_id_has_no_focus(client: TestClient) -> None:
    hit = _hit(client, "试用期")
    doc_id = hit["id"].split(":")[0]
    r = client.get(f"/api/documents/{doc_id}")
    assert r.status_code == 200 and r.json()["focus"] is None and r.json()["doc_id"] == doc_id


def test_unknown_document_or_passage_is_404_in_chinese(client: TestClient) -> None:
    r = client.get("/api/documents/nope")
    assert r.status_code == 404 and r.json()["error"] == "not_found" and "找不到文档" in r.json()["message"]
    doc_id = _hit(client, "试用期")["id"].split(":")[0]
    r = client.get(f"/api/documents/{doc_id}:999")
    assert r.status_code == 404 and "找不到段落" in r.json()["message"]


def test_similar_passages_come_from_other_documents(client: TestClient) -> None:
    hit = _hit(client, "快递员 入会")
    r = client.get(f"/api/documents/{hit['id']}/similar", params={"k": 2})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) <= 2
    assert all(x["id"].split(":")[0] != hit["id"].split(":")[0] for x in results)
    assert client.get(f"/api/documents/{hit['id']}/similar", params={"k": 0}).status_code == 422

"""POST /api/search: results, filters, facets, highlights, and every kind of bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


def test_search_returns_passages_with_metadata_facets_and_highlights(client: TestClient) -> None:
    r = client.post("/api/search", json={"query": "试用期", "top_k": 3})
    assert r.status_code == 200
    body = r.json()
    assert 1 <= len(body["results"]) <= 3
    top = body["results"][0]
    assert "试用期" in top["text"]
    assert top["doc_type"] == "law" and top["title"] == "劳动合同法" and top["article"] == "第十九条"
    assert top["label"] == "《劳动合同法》第十九条"
    start, end = top["highlights"][0]
    assert top["text"][start:end] == "试用期"
    assert body["facets"]["doc_type"].get("law", 0) >= 1
    assert isinstance(body["took_ms"], float)


def test_text_is_the_passage_exactly_as_stored(client: TestClient) -> None:
    hit = client.post("/api/search", json={"query": "拖欠劳动报酬 支付令"}).json()["results"][0]
    doc = client.get(f"/api/documents/{hit['id']}").json()
    assert doc["passages"][doc["focus"]]["text"] == hit["text"]


def test_filters_narrow_results_and_facets_count_matches(client: TestClient) -> None:
    r = client.post("/api/search", json={"query": "工会 快递员 入会", "filters": {"doc_type": "case", "region": "杭州"}})
    assert r.status_code == 200
    results = r.json()["results"]
    assert results and all(x["doc_type"] == "case" and "杭州" in (x["region"] or "") for x in results)
    facets = r.json()["facets"]
    assert set(facets["doc_type"]) <= {"case"}
    assert all("杭州" in region for region in facets["region"])


def test_year_filter_and_facets_can_be_skipped(client: TestClient) -> None:
    r = client.post("/api/search", json={"query": "产业工人 技能培训", "filters": {"year_from": 2023, "year_to": 2023}, "facets": False})
    assert r.status_code == 200
    assert all((x["date"] or "").startswith("2023") for x in r.json()["results"])
    assert r.json()["facets"] == {"region": {}, "doc_type": {}, "year": {}}


@pytest.mark.parametrize(
    ("payload", "field", "zh"),
    [
        ({"query": "试用期", "top_k": 0}, "top_k", "不能小于 1"),
        ({"query": "试用期", "top_k": 51}, "top_k", "不能大于 50"),
        ({"query": "试用期", "top_k": "很多"}, "top_k", "应为整数"),
        ({"query": ""}, "query", "不能为空"),
        ({"query": 123}, "query", "应为文本"),
        ({}, "query", "缺少必填字段"),
        ({"query": "试用期", "filters": {"doc_type": "poem"}}, "filters.doc_type", "取值无效"),
        ({"query": "试用期", "filters": {"year_from": 2024, "year_to": 2020}}, "filters", "year_from 不能晚于 year_to"),
        ({"query": "试用期", "size": 3}, "size", "不支持的字段"),
    ],
)
def test_invalid_input_is_422_in_chinese_and_english(client: TestClient, payload: dict, field: str, zh: str) -> None:
    r = client.post("/api/search", json=payload)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request"
    assert f"{field}：" in body["message"] and zh in body["message"]
    assert "(Invalid request:" in body["message"]
    assert body["detail"][0]["field"] == field


def test_blank_and_overlong_queries_are_rejected_by_the_assistant(client: TestClient) -> None:
    r = client.post("/api/search", json={"query": "   "})
    assert r.status_code == 422 and r.json()["error"] == "invalid_query" and "不能为空" in r.json()["message"]
    r = client.post("/api/search", json={"query": "劳" * 1001})
    assert r.status_code == 422 and r.json()["error"] == "invalid_query" and "1000" in r.json()["message"]


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post("/api/search", content='{"query": "试用期",'.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": "malformed_json", "message": "请求体不是合法的 JSON。(The request body is not valid JSON.)"}


def test_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    r = client.post("/api/search", json=["试用期"])
    assert r.status_code == 422 and "JSON 对象" in r.json()["message"]


def test_oversized_body_is_413_by_length_and_while_streaming(client: TestClient) -> None:
    big = json.dumps({"query": "试" * 40000}).encode()  # > 64 KiB in UTF-8
    r = client.post("/api/search", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large" and "上限" in r.json()["message"]

    def chunks():  # no Content-Length: the limit applies while reading
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    r = client.post("/api/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_repeated_search_is_served_from_the_cache_with_the_same_body(client: TestClient) -> None:
    payload = {"query": "加班费", "top_k": 2}
    first = client.post("/api/search", json=payload)
    second = client.post("/api/search", json=payload)
    assert first.headers["x-cache"] == "miss" and second.headers["x-cache"] == "hit"
    strip = lambda r: {k: v for k, v in r.json().items() if k != "took_ms"}  # noqa: E731
    assert strip(first) == strip(second)
    other = client.post("/api/search", json={**payload, "top_k": 3})
    assert other.headers["x-cache"] == "miss" and len(other.json()["results"]) >= len(first.json()["results"])

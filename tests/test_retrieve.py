from bot.fuse import rrf
from bot.retrieve import to_document
from bot.types import Filters


def test_rrf_matches_hand_computed_scores():
    s = rrf([[1, 2, 3], [3, 1]], [1.0, 2.0], k=10)
    assert s[1] == 1 / 11 + 2 / 12
    assert s[3] == 1 / 13 + 2 / 11
    assert s[2] == 1 / 12
    assert sorted(s, key=lambda r: -s[r]) == [3, 1, 2]


def test_lay_question_finds_the_statute_article(assistant):
    hits = assistant.search("老板拖欠工资怎么办", top_k=3)
    assert hits[0].passage.article == "第三条"
    assert hits[0].sparse_rank == 1 and hits[0].dense_score is not None


def test_filters_by_type_region_and_year(assistant):
    assert {h.passage.doc_type for h in assistant.search("工会", 10, Filters(doc_type="law"))} == {"law"}
    hits = assistant.search("工会", 10, Filters(region="宁波"))
    assert hits and all(h.passage.region == "宁波" or "宁波" in h.passage.regions for h in hits)
    assert all(h.passage.year == 2024 for h in assistant.search("工会", 10, Filters(year_from=2024, year_to=2024)))
    assert assistant.search("工会", 10, Filters(region="拉萨")) == []


def test_langchain_retriever_interface_returns_documents_with_metadata(assistant):
    assistant.retriever.k = 2
    docs = assistant.retriever.invoke("工会驿站有多少家")
    assert len(docs) == 2 and "120家" in docs[0].page_content
    assert docs[0].metadata["title"] == "扬州工会驿站服务新就业形态劳动者" and docs[0].metadata["region"] == "扬州"
    assert to_document(assistant.search("年休假", 1)[0]).metadata["label"] == "《职工权益保障示范条例》第四条"


def test_documents_neighbours_similar_and_facets(assistant):
    hit = assistant.search("货车司机入会", 1)[0]
    doc = assistant.document(hit.passage.id)
    assert hit.passage in doc and [p.position for p in doc] == list(range(len(doc)))
    assert all(h.passage.doc_id != hit.passage.doc_id for h in assistant.similar(hit.passage.id, 3))
    facets = assistant.facets("工会")
    assert facets["doc_type"]["case"] >= 1 and "扬州" in facets["region"]
    narrowed = assistant.facets("工会", Filters(region="宁波"))
    assert set(narrowed["region"]) == {"宁波"}


def test_repeated_questions_reuse_the_query_embedding(assistant, monkeypatch):
    calls = []
    real = assistant.embedder.embed_queries
    monkeypatch.setattr(assistant.embedder, "embed_queries", lambda texts: calls.append(texts) or real(texts))
    first = assistant.search("年休假有几天", 3)
    again = assistant.search("年休假有几天", 3)
    assert [h.passage.id for h in first] == [h.passage.id for h in again]
    assert len(calls) == 1


def test_an_outdated_article_never_comes_before_the_one_that_replaced_it(tmp_path):
    """bot/data/superseded.tsv: 劳动法 第八十二条 (sixty days) was replaced by the one-year rule of 仲裁法 第二十七条."""
    from bot.assistant import Assistant
    from tests.conftest import index_files

    s = index_files(tmp_path, {
        "劳动法.md": "# 中华人民共和国劳动法\n\n第八十一条 劳动争议仲裁委员会由劳动行政部门代表组成。\n\n"
                   "第八十二条 提出仲裁要求的一方应当自劳动争议发生之日起六十日内向劳动争议仲裁委员会提出书面申请。\n\n"
                   "第八十三条 对仲裁裁决不服的，可以向人民法院提起诉讼。\n",
        "仲裁法.md": "# 中华人民共和国劳动争议调解仲裁法\n\n第二十六条 劳动争议仲裁公开进行。\n\n"
                   "第二十七条 劳动争议申请仲裁的时效期间为一年。\n\n第二十八条 申请人申请劳动争议仲裁应当提交书面仲裁申请。\n",
    })
    a = Assistant.from_settings(s)
    try:
        labels = [h.passage.label for h in a.search("提出仲裁要求的一方应当自劳动争议发生之日起六十日内提出书面申请", 3)]
        assert labels.index("《劳动争议调解仲裁法》第二十七条") < labels.index("《劳动法》第八十二条"), labels
        hits = a.search("提出仲裁要求的一方应当自劳动争议发生之日起六十日内提出书面申请", 3)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    finally:
        a.close()


def test_a_question_about_what_the_reports_describe_is_not_won_by_a_statutes_lay_questions(tmp_path):
    """When a report's own text is closer to the question than any statute's text, lay questions (which bridge
    workers' words to statutes) do not rank: a statute whose lay question repeats the query loses to the report."""
    from bot.assistant import Assistant
    from tests.conftest import index_files

    statute = ("# 中华人民共和国测试法\n\n第十条 用人单位应当为劳动者提供必要的劳动条件。\n\n"
               "第十一条 劳动者享有休息休假的权利。\n\n第十二条 本法自公布之日起施行。\n")
    s = index_files(tmp_path, {
        "laws/测试法.md": statute,
        "laws/测试法.questions.tsv": "第十条\t工会驿站能不能给外卖骑手热饭充电\n第十条\t工会驿站能不能给外卖骑手热饭充电吗\n",
        "cases/驿站.txt": "北仑区总工会建成工会驿站30个。\n\n工会驿站能给外卖骑手热饭、充电，还能歇脚喝水。\n",
    })
    a = Assistant.from_settings(s)
    try:
        # The fused order (what answers start from), before the reranking by answer sentences.
        hits = a.retriever.search("工会驿站能不能给外卖骑手热饭充电", 3, reranked=False)
        assert hits[0].passage.doc_type != "law", [h.passage.label for h in hits]
        assert hits[1].dense_score > 0.95  # the statute's score still counts its lay question (for refusals)
        # The statute's own wording is closest here, so its lay questions still count as before.
        hits = a.retriever.search("用人单位应当为劳动者提供必要的劳动条件吗", 3, reranked=False)
        assert hits[0].passage.article == "第十条", [h.passage.label for h in hits]
    finally:
        a.close()

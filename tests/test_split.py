from bot.split import ARTICLE_WHOLE, article_number, split
from bot.types import SourceFile
from tests.corpus_text import NEWSLETTER, STATUTE


def _src(text: str, path: str) -> SourceFile:
    return SourceFile(path=path, text=text, sha256="x", encoding="utf-8")


def test_statute_one_passage_per_article_with_title_chapter_and_number():
    ps = split(_src(STATUTE, "职工权益保障示范条例(2020-01-01).md"))
    assert [p.article for p in ps] == [f"第{n}条" for n in "一二三四五六七"]
    third = ps[2]
    assert third.label == "《职工权益保障示范条例》第三条"
    assert third.chapter == "第二章 工资与休息"
    assert third.text.startswith("第三条 用人单位应当按月") and "劳动争议仲裁" in third.text  # both paragraphs
    assert third.doc_type == "law" and third.date == "2020-01-01"
    assert "示范委员会通过" not in "".join(p.text for p in ps)  # the history before INFO END is left out
    assert article_number("第一百零三条") == 103


def test_long_article_is_cut_by_paragraph_and_keeps_its_number():
    body = "\n\n".join(f"（{i}）" + "用人单位应当依法保障职工权益。" * 8 for i in range(1, 6))
    text = f"# 示例法\n\n第一条 总则。\n\n第二条 下列情形：\n\n{body}\n\n第三条 附则。\n"
    ps = split(_src(text, "示例法.md"), max_chars=300)
    second = [p for p in ps if p.article == "第二条"]
    assert len(second) > 1 and all(len(p.text) <= 300 * ARTICLE_WHOLE for p in second)
    assert "".join(p.text.replace("\n", "") for p in second) == ("第二条 下列情形：" + body).replace("\n", "")


def test_a_statute_line_broken_inside_a_sentence_is_rejoined():
    """Converted statutes break lines mid-sentence ("…延长工作时间的，\n\n按照不低于…１５０％支付\n\n劳动者工资；"):
    a list item must stay one sentence, or an answer quotes "劳动者工资；" alone."""
    text = ("# 示例规定\n\n第十三条 应按以下标准支付工资：\n\n（一）延长工作时间的，\n\n按照不低于本人小时工资标准的１５０％支付\n\n"
            "劳动者工资；\n\n（二）休息日工作的，按照不低于２００％支付劳动者工资。\n\n第十四条 附则。\n\n第十五条 施行。\n")
    first = split(_src(text, "示例规定.md"))[0]
    assert first.text.split("\n") == ["第十三条 应按以下标准支付工资：",
                                       "（一）延长工作时间的，按照不低于本人小时工资标准的１５０％支付劳动者工资；",
                                       "（二）休息日工作的，按照不低于２００％支付劳动者工资。"]


def test_an_article_somewhat_over_the_passage_size_stays_whole():
    """"实行不定时工时制度的劳动者，不执行上述规定" means nothing cut off from the rules it refers to."""
    items = "\n\n".join(f"（{n}）" + "安排劳动者延长工作时间的，支付不低于工资的百分之一百五十的工资报酬。" * 4 for n in "一二三")
    text = f"# 示例法\n\n第一条 总则。\n\n第二条 应按以下标准支付工资：\n\n{items}\n\n实行不定时工时制度的劳动者，不执行上述规定。\n\n第三条 附则。\n"
    second = [p for p in split(_src(text, "示例法.md"), max_chars=450) if p.article == "第二条"]
    assert len(second) == 1 and 450 < len(second[0].text) and second[0].text.endswith("不执行上述规定。")


def test_newsletter_articles_metadata_and_paragraph_passages():
    ps = split(_src(NEWSLETTER, "工会简讯.txt"))
    docs = {}
    for p in ps:
        docs.setdefault(p.doc_id, []).append(p)
    assert len(docs) == 2
    first, second = docs.values()
    assert first[0].title == "扬州工会驿站服务新就业形态劳动者"
    assert first[0].org == "扬州市总工会" and first[0].region == "扬州" and first[0].column == "基层动态"
    assert first[0].doc_type == "case"
    assert second[0].title == "宁波北仑开展工资集体协商" and second[0].doc_type == "news"
    assert second[0].date == "2024" and second[0].region == "宁波"
    assert "小编说" in first[-1].text  # kept with its article
    assert all(p.text in NEWSLETTER for p in ps if "\n" not in p.text)


def test_page_break_inside_a_sentence_is_rejoined_and_sentences_never_cut():
    para = "近年来，某市总工会持续推进产业工人队伍建设改革，围绕技能提升、待遇保障和" 
    text = f"标题一则\n\n某市总工会 张三\n\n{para}\n\n权益维护三个方面出台了十项措施。{'工会组织职工开展技能竞赛。' * 40}\n"
    ps = split(_src(text, "n.txt"), min_chars=50, max_chars=200)
    joined = "".join(p.text.replace("\n", "") for p in ps)
    assert "待遇保障和权益维护三个方面" in joined
    for p in ps:
        assert p.text.rstrip().endswith(("。", "；", "！", "？")), p.text


def test_markdown_guide_keeps_its_title_and_second_level_sections():
    text = "# 职工指南\n\n## 加班\n\n加班要付加班费。" + "用人单位应当支付加班报酬。" * 12 + "\n\n## 年假\n\n年假五天。" + "职工享受带薪年休假。" * 12 + "\n"
    ps = split(_src(text, "指南.md"))
    assert {p.title for p in ps} == {"职工指南"}
    assert [p.chapter for p in ps] == ["加班", "年假"]


def test_report_region_is_where_the_work_happened_not_a_place_named_in_passing():
    from bot.types import Filters

    text = ("【基层动态】\n\n扬州邗江：驿站暖人心\n\n扬州市邗江区总工会 张明\n\n"
            "今年以来，邗江区总工会在全区建成工会驿站20个，为外卖骑手、货车司机提供休息、饮水、充电服务。"
            "工作人员曾赴淮安学习经验，回来后结合本地实际，推出“暖心驿站”品牌，受到骑手欢迎。"
            "邗江区总工会还联合区人社局开展骑手入会集中行动，共吸纳新会员300余名。\n")
    ps = split(_src(text, "简讯.txt"))
    assert ps and all(p.region == "扬州" for p in ps), [p.region for p in ps]
    assert Filters(region="扬州").matches(ps[0]) and Filters(region="江苏").matches(ps[0])
    assert not Filters(region="淮安").matches(ps[0])  # named in passing only


def test_a_newsletters_table_of_contents_is_left_out():
    """A 专报 lists its articles under "目 录" before the first one; the list must not open the first article."""
    text = ("新时代产改联席会 专 报\n\n2024 年第 8 期\n\n目 录\n\n- 某镇实施“三大工程” 助推小微企业产改\n——某市总工会\n"
            "- 工作信息\n - 1. 某镇增强四个“活力”\n“产改示范园”\n - 2. 某煤矿厚植沃土\n\n"
            "某镇实施“三大工程” 助推小微企业产改\n\n")
    text += "作为首批产改试点乡镇，某镇牢牢把握产业工人队伍建设改革方向，积极探索实施三大工程。" * 3 + "\n"
    ps = split(_src(text, "zb.txt"), min_chars=50, max_chars=300)
    assert ps and ps[0].text.startswith("作为首批产改试点乡镇"), ps[0].text
    assert not any("- 1." in p.text or "工作信息" in p.text for p in ps)
    assert ps[0].title.endswith("助推小微企业产改")


def test_a_bulletins_masthead_and_distribution_list_are_not_an_article():
    """专报: masthead lines and the issue's date come before the first headline; "报：/送：" lines close the issue."""
    text = ("新时代产改联席会 专 报\n\n2024 年第 8 期（总第 38 期）\n\n产改联席会议办公室\n\n2024 年 6 月 24 日\n\n"
            "江阴市某镇实施“三大工程” 助推小微企业产改\n\n"
            + "作为江阴市首批产改试点乡镇，某镇牢牢把握产业工人队伍建设改革方向，积极探索实施三大工程。" * 3 + "\n\n"
            "（省机冶石化工会）\n\n报：推进产业工人队伍建设改革协调小组办公室。\n\n联席会议召集人、副召集人。\n\n"
            "送：省产改联席会议成员单位，各设区市产改领导机构。\n")
    ps = split(_src(text, "zb.txt"), min_chars=50, max_chars=300)
    assert {p.title for p in ps} == {"江阴市某镇实施“三大工程” 助推小微企业产改"}
    assert ps[0].region == "江阴" and ps[0].date == "2024-06-24"
    assert not any("报：" in p.text or "送：" in p.text or "召集人" in p.text for p in ps)


def test_a_headline_printed_after_its_text_stays_with_it_and_not_with_the_next_column():
    body = "宜兴市总工会切实履行好牵头责任，把产改工作融入全面深化改革工作要点。" * 3
    text = (f"【主席之声】\n\n{body}\n\n小编说：宜兴的做法值得借鉴。\n\n以『三个坚持』推动产改迈向纵深\n\n"
            "宜兴市总工会党组书记、副主席 邱远迅\n\n【他山之石】\n\n将疗休养列入职工福利项目 河北工会推动企业\n\n"
            + "日前，记者从河北省劳模职工疗休养活动推进会上了解到，河北劳模职工疗休养将累计完成100万人次。" * 3 + "\n")
    docs: dict[str, list] = {}
    for p in split(_src(text, "jb.txt"), min_chars=50, max_chars=300):
        docs.setdefault(p.doc_id, []).append(p)
    first, second = (ps[0] for ps in docs.values())
    assert first.title == "主席之声" and first.region == "宜兴"
    assert second.title == "将疗休养列入职工福利项目 河北工会推动企业" and second.region == "河北"
    assert second.column == "他山之石"


def test_a_reports_region_is_its_city_not_its_province():
    body = "北仑区总工会在集卡停车场工会驿站举办入会服务集市，300多名货车司机扫码入会。" * 3
    text = f"宁波北仑区举办入会服务集市\n\n浙江省宁波市北仑区总工会 张三\n\n{body}\n"
    (p, *_) = split(_src(text, "nb.txt"), min_chars=50, max_chars=300)
    assert p.region == "宁波"

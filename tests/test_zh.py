import unicodedata

from bot import zh


def test_sentences_keep_full_width_marks_and_closing_quotes():
    assert zh.sentences("第一条 为了保护。他说“好的！”然后；最后") == ["第一条 为了保护。", "他说“好的！”", "然后；", "最后"]


def test_tokenize_uses_user_dictionary_and_drops_stopwords():
    tokens = zh.tokenize("我们的工会驿站怎么办理产改？")
    assert "工会驿站" in tokens and "产改" in tokens
    assert "我们" not in tokens and "怎么" not in tokens and "？" not in tokens


def test_expand_adds_legal_wording_for_everyday_words():
    q = zh.expand("老板不签合同，社保也不交")
    assert "用人单位" in q and "社会保险" in q and "未订立书面劳动合同" in q
    assert zh.expand("劳动合同法第十条") == "劳动合同法第十条"


def test_places_and_numbers():
    assert zh.places_in("宁波北仑区总工会和扬州市总工会") == ["宁波", "北仑", "扬州"]
    assert zh.cn_number("八十二") == 82 and zh.cn_number("一百零三") == 103 and zh.cn_number("十") == 10
    assert zh.cn_number("条") is None


def test_tokenizer_is_built_once_under_concurrent_first_use(monkeypatch):
    import threading

    monkeypatch.setattr(zh, "_JIEBA", [])
    built = []
    real_load = __import__("jieba").Tokenizer.load_userdict

    def counting_load(self, *a, **k):  # type: ignore[no-untyped-def]
        built.append(1)
        return real_load(self, *a, **k)

    monkeypatch.setattr("jieba.Tokenizer.load_userdict", counting_load)
    threads = [threading.Thread(target=zh.tokenize, args=("工会驿站",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1


def test_normalize_drops_exactly_the_control_format_and_unassigned_characters():
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    unified = every.replace("\r", "\n").replace("\u00a0", " ").replace("\u200b", "")
    kept = "".join(ch for ch in unified if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    assert zh.normalize(every) == kept
    assert zh.normalize("甲\r\n乙\r丙\ufeff\u202e丁\x00") == "甲\n乙\n丙丁"
    text = "第一条 为了保护劳动者的合法权益，“调整”劳动关系——制定本法。\n" * 100
    assert zh.normalize(text) is text  # ordinary text comes back without a copy

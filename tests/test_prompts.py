"""Prompt templates: loaded from files and checked for their placeholders at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import PROMPTS_DIR
from bot.prompts import REQUIRED, PromptError, load_prompts, placeholders


def test_shipped_templates_load_and_render():
    prompts = load_prompts(PROMPTS_DIR)
    assert set(prompts.templates) == set(REQUIRED)
    text = prompts.render("answer", context="[1] 《劳动合同法》第十九条\n试用期不得超过六个月。", question="试用期{多久}")
    assert "[1] 《劳动合同法》第十九条" in text and "试用期{多久}" in text
    assert "12351" in prompts.render("refusal", reason="没有依据")


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_template_uses_exactly_its_placeholders(name: str):
    assert placeholders((PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8")) == set(REQUIRED[name])


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, dst)
    return dst


def test_missing_placeholder_is_reported_at_load(tmp_path: Path):
    d = _copy(tmp_path)
    (d / "answer.md").write_text("只有问题：{question}", encoding="utf-8")
    with pytest.raises(PromptError, match="context"):
        load_prompts(d)


def test_unknown_placeholder_is_reported_at_load(tmp_path: Path):
    d = _copy(tmp_path)
    (d / "refusal.md").write_text("抱歉，{reason}，{name}。", encoding="utf-8")
    with pytest.raises(PromptError, match="name"):
        load_prompts(d)


def test_missing_file_says_which(tmp_path: Path):
    d = _copy(tmp_path)
    (d / "condense.md").unlink()
    with pytest.raises(PromptError, match="condense.md"):
        load_prompts(d)


def test_unbalanced_braces_are_reported(tmp_path: Path):
    d = _copy(tmp_path)
    (d / "system.md").write_text("{max_chars} 字以内 {", encoding="utf-8")
    with pytest.raises(PromptError):
        load_prompts(d)

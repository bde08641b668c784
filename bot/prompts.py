"""Prompt templates as files in bot/prompt_templates/ (or UNIONBOT_PROMPTS_DIR): loaded once and checked for their placeholders at start-up."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BotError

# Template name -> the placeholders it must use (and the only ones it may use).
REQUIRED: dict[str, frozenset[str]] = {
    "system": frozenset({"max_chars"}),
    "answer": frozenset({"context", "question"}),
    "condense": frozenset({"history", "question"}),
    "refusal": frozenset({"reason"}),
    "questions": frozenset({"n", "title", "text"}),
    "rewrite": frozenset({"question"}),
}


class PromptError(BotError):
    """A prompt template is missing or has wrong placeholders."""


@dataclass(frozen=True)
class Prompts:
    """The loaded templates; format them with `render`."""

    templates: dict[str, str]

    def render(self, name: str, **values: object) -> str:
        """Fill one template; values are inserted as plain text (braces in them are not re-parsed)."""
        return self.templates[name].format(**values).strip()


def placeholders(template: str) -> set[str]:
    """Names of the {placeholders} used in a str.format template."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def check_template(name: str, template: str) -> None:
    """Raise PromptError when a template lacks a required placeholder or uses an unknown one."""
    try:
        found = placeholders(template)
    except ValueError as e:  # unbalanced braces
        raise PromptError(f"提示词模板 {name}.md 格式错误：{e}。(Fix the braces in {name}.md.)") from None
    need = REQUIRED[name]
    if missing := need - found:
        raise PromptError(
            f"提示词模板 {name}.md 缺少占位符 {sorted(missing)}。({name}.md must contain "
            + ", ".join("{" + m + "}" for m in sorted(missing)) + ".)"
        )
    if unknown := found - need:
        raise PromptError(
            f"提示词模板 {name}.md 含有未知占位符 {sorted(unknown)}。({name}.md may only use "
            + ", ".join("{" + m + "}" for m in sorted(need)) + "; double other braces as {{ }}.)"
        )


def load_prompts(folder: Path) -> Prompts:
    """Read and check every template in REQUIRED from `folder` (raises PromptError with what to fix)."""
    templates: dict[str, str] = {}
    for name in REQUIRED:
        path = Path(folder) / f"{name}.md"
        if not path.is_file():
            raise PromptError(f"找不到提示词模板 {path}。(Missing prompt template {path}; set UNIONBOT_PROMPTS_DIR.)")
        text = path.read_text(encoding="utf-8")
        check_template(name, text)
        templates[name] = text
    return Prompts(templates)

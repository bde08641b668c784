"""Rebuild the index from the console in a background thread, then swap the running service onto it.

Progress is a list of events (stage, message, counts) that the console streams as Server-Sent Events. The
new index is loaded into a new Assistant sharing the embedder and the conversation store; it replaces
`app.state.assistant` in one assignment, so requests in flight finish on the old one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from bot.api.switch import reload_index
from bot.embed import make_embedder
from bot.index import build_index

logger = logging.getLogger(__name__)

MESSAGES = {
    "loaded": "已读取 {files} 个文件（跳过 {skipped} 个）",
    "split": "切分为 {passages} 个段落，{questions} 个口语问题",
    "embedding": "需要新嵌入 {total} 条文本",
    "writing": "正在写入索引（{passages} 个段落）",
}


@dataclass
class Build:
    """One rebuild and what it has reported so far."""

    id: int
    started_by: str
    started_at: float = field(default_factory=time.time)
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    ok: bool = False

    def add(self, stage: str, message: str, **facts: Any) -> None:
        self.events.append({"n": len(self.events), "stage": stage, "message": message, "at": time.time(), **facts})


class Rebuilder:
    """At most one build at a time, per app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.current: Build | None = None
        self._lock = threading.Lock()
        self._count = 0

    def start(self, started_by: str) -> tuple[Build, bool]:
        """Start a build, or return the one running (False when it was already running)."""
        with self._lock:
            if self.current is not None and not self.current.done:
                return self.current, False
            self._count += 1
            build = self.current = Build(self._count, started_by)
        threading.Thread(target=self._run, args=(build,), name="console-rebuild", daemon=True).start()
        return build, True

    def _run(self, build: Build) -> None:
        state = self.app.state
        settings = state.settings
        done = 0
        total = 0

        def stage(name: str, facts: dict[str, Any]) -> None:
            nonlocal total
            if name == "embedding":
                total = int(facts.get("total", 0))
            build.add(name, MESSAGES.get(name, name).format(**facts), **facts)

        def progress(n: int) -> None:
            nonlocal done
            done += n
            build.add("progress", f"已嵌入 {done} / {total}", done=done, total=total)

        build.add("start", "开始重建索引")
        try:
            old = state.assistant
            embedder = old.embedder if old is not None else make_embedder(settings)
            report = build_index(settings, embedder=embedder, progress=progress, stages=stage)
            for path, reason in report.errors:
                build.add("skipped", f"{path}：{reason}", path=path, reason=reason)
            build.add("loading", "正在加载新索引")
            reload_index(self.app)  # one assignment: requests in flight finish on the old index
            build.ok = True
            summary = (f"完成：{report.files} 个文件，{report.passages} 个段落；新嵌入 {report.embedded}，"
                       f"复用 {report.reused}；用时 {report.seconds:.1f} 秒。服务已切换到新索引。")
            if report.up_to_date:
                summary = f"索引已是最新：{report.files} 个文件，{report.passages} 个段落。服务已重新加载。"
            build.add("done", summary, files=report.files, passages=report.passages)
        except Exception as e:  # noqa: BLE001 - report any failure to the officer; the old index keeps serving
            logger.exception("console rebuild failed")
            build.add("failed", f"重建失败：{e}。服务继续使用原来的索引。")
        finally:
            build.done = True

"""Switching a running service to a newly built index (admin reload, console rebuild)."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI

from bot.api.deps import LruCache
from bot.assistant import Assistant
from bot.index import load_index

logger = logging.getLogger(__name__)

SEARCH_CACHE_SIZE = 1024  # /api/search responses kept for repeated requests


def warm_up(assistant: Any) -> None:
    """One search before serving: tokenizer dictionaries and model sessions load once, not in 20 threads at once."""
    assistant.search("工会 劳动合同", top_k=1)
    assistant.facets("工会 劳动合同")


def reload_index(app: FastAPI) -> Any:
    """Load the index now in settings.index_dir and switch to it; returns the new assistant.

    Requests already running keep the assistant they started with and finish on the old index; new ones get
    the new index and an empty search cache. Raises BlockingIOError while another reload runs; a failed load
    (BotError) keeps the old index in service.
    """
    if not app.state.reload_lock.acquire(blocking=False):
        raise BlockingIOError("a reload is already running")
    try:
        t0 = time.perf_counter()
        settings, old = app.state.settings, app.state.assistant
        if isinstance(old, Assistant):  # the same settings: keep the embedder loaded, only the index is new
            assistant = Assistant(settings, load_index(settings.index_dir, old.embedder), old.embedder, app.state.store)
        else:
            assistant = app.state.assistant_factory(settings, app.state.store)
        warm_up(assistant)
        app.state.search_cache = LruCache[Any](SEARCH_CACHE_SIZE)
        app.state.assistant = assistant  # one assignment: requests in flight keep the old object
        app.state.load_error = None
        logger.info("switched to the index in %s (loaded in %.1f s)", settings.index_dir, time.perf_counter() - t0)
        if old is not None:
            old.close()  # releases only what it owns: the store is the app's
        return assistant
    finally:
        app.state.reload_lock.release()

"""The officers' console at /console: accounts and audit, knowledge base, review, hand-offs, dashboard and
kiosk keys. Pages and their assets live in bot/console/static (plain HTML/CSS/JS, no build step)."""

from fastapi import APIRouter

from bot.console import accounts, dashboard, handoffs, kiosk_keys, knowledge, pages, review
from bot.console.knowledge import UPLOAD_PATH

router = APIRouter()
for _module in (pages, accounts, knowledge, review, handoffs, dashboard, kiosk_keys):
    router.include_router(_module.router)

__all__ = ["UPLOAD_PATH", "router"]

"""HTTP service: a thin FastAPI layer over bot.assistant.Assistant (see create_app)."""

from bot.api.app import create_app

__all__ = ["create_app"]

"""Security headers on every response, and a strict Content-Security-Policy on HTML pages.

The pages (bot/web) and /docs (bot/api/docs.py) load only scripts and styles served by this app, with
no inline <script> or <style>, so `'self'` is all they need. A header a route set itself is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON, images, files: nothing runs, nothing frames them
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


class SecurityHeaders:
    """Add HEADERS to every HTTP response, PAGE_CSP to HTML and OTHER_CSP to everything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", PAGE_CSP if html else OTHER_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""API docs (/docs, Swagger UI 5, which reads FastAPI's OpenAPI 3.1) served from the fastapi-offline package's
assets: no CDN, so offline kiosk networks work.

The page has no inline script (FastAPI's get_swagger_ui_html has one): Swagger UI starts from /docs/init.js,
so the pages' strict Content-Security-Policy (bot.api.security) holds for /docs too.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import fastapi_offline

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS = "/docs-assets"
INIT_JS = "/docs/init.js"

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{init}"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({{
  url: {openapi_url},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def install(app: FastAPI) -> None:
    """Mount the Swagger UI assets, the /docs page and the script that starts Swagger UI on it."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE.format(title=html.escape(f"{app.title} · API"), assets=ASSETS, init=INIT_JS))

    @app.get(INIT_JS, include_in_schema=False)
    def docs_init() -> Response:
        script = INIT.format(openapi_url=json.dumps(app.openapi_url or "/openapi.json"))
        return Response(script, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})

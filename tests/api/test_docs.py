"""/docs works on an offline network: Swagger UI comes from the package, never from a CDN."""

import re

from fastapi.testclient import TestClient


def test_docs_page_loads_swagger_ui_from_the_service_itself(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""", r.text)
    found = [u for pair in urls for u in pair if u]
    assert found and all(u.startswith("/") for u in found), found
    for path in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        asset = client.get(path)
        assert asset.status_code == 200 and len(asset.content) > 10_000, path

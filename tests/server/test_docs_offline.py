"""/docs and /redoc work offline: every script, style and icon they load comes from this server, no CDN."""
from __future__ import annotations

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_only_local_assets(local_url, page):
    html = httpx.get(f"{local_url}{page}", timeout=30)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
    urls += re.findall(r"""(?:url|spec-url)\s*:\s*["']([^"']+)["']""", html.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "://" not in html.text.replace(local_url, "")          # no absolute URL anywhere in the page
    for url in urls:
        asset = httpx.get(f"{local_url}{url}", timeout=30)
        assert asset.status_code == 200 and len(asset.content) > 100, url


def test_the_swagger_bundle_is_the_real_script(local_url):
    script = httpx.get(f"{local_url}/docs-assets/swagger-ui-bundle.js", timeout=30)
    assert script.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert b"SwaggerUIBundle" in script.content and len(script.content) > 500_000


def test_every_operation_has_its_own_id(local_url):
    """Client generators key methods by operationId: a route answering GET and POST must not share one."""
    spec = httpx.get(f"{local_url}/openapi.json", timeout=30).json()
    ids = [op["operationId"] for methods in spec["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert {"get", "post"} <= set(spec["paths"]["/status/{job_id}"]) and {"get", "post"} <= set(spec["paths"]["/stream/{job_id}"])

"""The API docs page (/api/docs/) serves Swagger UI from drf-spectacular-sidecar: every file it
loads is this site's, and its start-up script is a file too (no inline script under the CSP)."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

URLS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def test_the_docs_page_references_no_other_host(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = URLS.findall(html)
    assert urls, html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "cdn." not in html and "http://" not in html and "https://" not in html
    assert "<script>" not in html and "<style" not in html
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/static/drf_spectacular_sidecar/swagger-ui-dist/{name}" in urls


def test_every_file_it_loads_is_served_here(client):
    html = client.get("/api/docs/").content.decode()
    for url in URLS.findall(html):
        path = url.split("?")[0]
        if path.startswith("/static/"):
            assert finders.find(path.removeprefix("/static/")), url
        else:
            assert client.get(url).status_code == 200, url


def test_the_start_up_script_is_a_file_pointing_at_the_schema(client):
    response = client.get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert "SwaggerUIBundle(" in body
    assert '"/api/schema/"' in body

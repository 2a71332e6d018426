"""The Content-Security-Policy (django-csp, config/settings.py and config/csp.py): sent with every
page, this site only, no inline code; and the templates keep to it."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
HEADER = "Content-Security-Policy"


def directives(response) -> dict[str, set[str]]:
    policy = {}
    for part in response[HEADER].split(";"):
        name, *values = part.split()
        policy[name] = set(values)
    return policy


def assert_strict(policy: dict[str, set[str]]) -> None:
    assert policy["default-src"] == {"'self'"}
    for name in ("script-src", "style-src", "connect-src", "font-src", "base-uri"):
        assert policy[name] == {"'self'"}, name
    assert policy["img-src"] == {"'self'", "data:"}
    assert policy["object-src"] == {"'none'"}
    assert policy["frame-ancestors"] == {"'none'"}
    everything = " ".join(" ".join(values) for values in policy.values())
    assert "unsafe-inline" not in everything
    assert "unsafe-eval" not in everything


@pytest.mark.django_db
def test_a_ui_page_carries_the_policy(client, admin_user):
    assert_strict(directives(client.get(reverse("login"))))
    client.force_login(admin_user)
    response = client.get(reverse("crm:contact_list"))
    assert response.status_code == 200
    assert_strict(directives(response))


@pytest.mark.django_db
def test_the_api_docs_page_carries_the_policy(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert_strict(directives(response))


@pytest.mark.django_db
def test_forms_may_go_to_this_site_and_zooms_oauth_host_only(client, settings):
    assert directives(client.get(reverse("login")))["form-action"] == {
        "'self'",
        "https://zoom.us",
    }
    # Read per request: the host follows the setting (the sandbox in tests and the demo).
    settings.ZOOM_OAUTH_BASE_URL = "http://127.0.0.1:8765"
    assert directives(client.get(reverse("login")))["form-action"] == {
        "'self'",
        "http://127.0.0.1:8765",
    }


# The templates, read as text: nothing that the policy would block.
TEMPLATES = sorted(
    [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")],
    key=lambda path: str(path),
)
INLINE = {
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
    "<style> element": re.compile(r"<style[\s>]", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "htmx eval (hx-on, js:)": re.compile(r"hx-on|[\"']js:", re.IGNORECASE),
    "external host": re.compile(r"(?:src|href)\s*=\s*[\"'](?:https?:)?//", re.IGNORECASE),
}
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
COMMENTS = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 40
    assert ROOT / "templates" / "base.html" in TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_needs_inline_code_or_another_host(template):
    text = COMMENTS.sub("", template.read_text())
    found = [what for what, pattern in INLINE.items() if pattern.search(text)]
    for attributes in SCRIPT.findall(text):
        # A script is a file of this site, or data the browser never runs.
        if "src=" not in attributes and 'type="application/json"' not in attributes:
            found.append("inline <script>")
    assert not found, f"{template.relative_to(ROOT)}: {', '.join(found)}"


def test_htmx_is_told_not_to_eval_or_inject_styles():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"allowEval": false' in base
    assert '"includeIndicatorStyles": false' in base
    assert '"attributesToSettle": ["class", "width", "height"]' in base  # not "style"

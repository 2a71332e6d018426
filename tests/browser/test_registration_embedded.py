"""Rule E5: the public registration page embedded in an iframe on another site. The embedding
page is served from a second origin (the other loopback name, another port), so the iframe is
a cross-site context: a browser sends it no SameSite=Lax cookie and keeps none it sets, which
is why the form must not depend on the CSRF cookie. Registering from inside the iframe works,
with the UTM parameters of the iframe's address, and leaves no cookie behind.
Screenshots go to screenshots/registration-embedded-*.png."""

import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from crm.models import Contact
from marketing_events.models import Participation, RegistrationDetails
from tests.zoom_integration.scenario import UPCOMING_ID

from .test_registration_flow import world  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _other_host(url: str) -> str:
    """The other loopback name of the live server's host: a different site for the browser."""
    host = urlsplit(url).hostname
    return "127.0.0.1" if host == "localhost" else "localhost"


@pytest.fixture
def third_party_site(live_server, world):  # noqa: F811
    """A page on another origin whose only content is the registration page in an iframe."""
    frame_url = f"{live_server.url}/r/{world.pk}/{UPCOMING_ID}/?utm_source=partner-blog"
    html = (
        "<!doctype html><title>Partner blog</title><h1>Our partner's webinar</h1>"
        f'<iframe src="{frame_url}" width="640" height="760" title="Register"></iframe>'
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):  # quiet
            pass

    host = _other_host(live_server.url)
    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{host}:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_form_registers_from_an_iframe_on_another_site(
    live_server,
    page: Page,
    world,  # noqa: F811
    third_party_site,
):
    page.set_viewport_size({"width": 900, "height": 1000})
    page.goto(third_party_site)
    assert urlsplit(page.url).hostname != urlsplit(live_server.url).hostname
    frame = page.frame_locator("iframe")
    frame.get_by_label("First name").fill("Ivy")
    frame.get_by_label("Last name").fill("Frame")
    frame.get_by_label("Email").fill("ivy@example.com")
    frame.get_by_label("Organization").fill("Initech")
    frame.get_by_label("Company size").select_option("1-10")
    frame.get_by_test_id("register").click()
    expect(frame.get_by_test_id("registered")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "registration-embedded-01.png"), full_page=True)

    ivy = Contact.objects.get(email="ivy@example.com")
    details = RegistrationDetails.objects.get(participation__contact=ivy)
    assert details.utm == {"utm_source": "partner-blog"}
    assert details.referrer == third_party_site  # the iframe was opened from the partner's page
    assert Participation.objects.filter(contact=ivy).count() == 1
    # Nothing was needed from cookies, and the page set none for the embedding site's visitor.
    live_host = urlsplit(live_server.url).hostname
    assert [c["name"] for c in page.context.cookies() if c["domain"] == live_host] == []


def test_a_forged_or_stale_form_token_registers_nobody(live_server, page: Page, world):  # noqa: F811
    page.goto(f"{live_server.url}/r/{world.pk}/{UPCOMING_ID}/")
    page.get_by_label("First name").fill("Sly")
    page.get_by_label("Last name").fill("Forge")
    page.get_by_label("Email").fill("sly@example.com")
    page.get_by_label("Organization").fill("Evil")
    page.get_by_label("Company size").select_option("1-10")
    page.locator("input[name=t]").evaluate("el => el.value = el.value.slice(0, -2) + 'xx'")
    page.get_by_test_id("register").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("submit it again")
    assert not Contact.objects.filter(email="sly@example.com").exists()
    # The page came back with a fresh token and the answers kept: submitting again works.
    expect(page.get_by_label("First name")).to_have_value("Sly")
    page.get_by_test_id("register").click()
    expect(page.get_by_test_id("registered")).to_be_visible()
    assert Contact.objects.filter(email="sly@example.com").exists()

"""`crm.paging` and `{% pager %}`: the one pager every paged list draws (contacts, events,
participants, segments and their members, workflows and their log, a run's skips, Zoom users,
notifications, the audit log). Every string through gettext (rule L1)."""

import pytest
from django.core.paginator import Paginator
from django.template import Context, Template
from django.utils import translation

from crm.paging import keyset_pager, numbered_pager


def render(pager, options=""):
    template = Template("{% load paging %}{% pager pager " + options + " %}")
    return " ".join(template.render(Context({"pager": pager})).split())


def page(number, pages=10, per_page=2):
    return Paginator(range(pages * per_page), per_page).get_page(number)


def url_for(n):
    return f"?page={n}"


def test_numbered_pager_elides_far_pages_and_links_its_neighbours():
    pager = numbered_pager(page(10, pages=20), url_for)
    assert (pager.prev_url, pager.next_url) == ("?page=9", "?page=11")
    assert [(link.number, link.url) for link in pager.links] == [
        (1, "?page=1"),
        (Paginator.ELLIPSIS, None),
        (8, "?page=8"),
        (9, "?page=9"),
        (10, "?page=10"),
        (11, "?page=11"),
        (12, "?page=12"),
        (Paginator.ELLIPSIS, None),
        (20, "?page=20"),
    ]


def test_the_first_page_cannot_go_back_and_the_last_cannot_go_on():
    assert numbered_pager(page(1), url_for).prev_url is None
    assert numbered_pager(page(10), url_for).next_url is None


def test_a_single_page_draws_no_pager():
    assert render(numbered_pager(page(1, pages=1), url_for)) == ""


def test_plain_links_with_the_current_page_and_disabled_ends():
    html = render(numbered_pager(page(1, pages=3), url_for))
    assert html == (
        '<nav class="pager" aria-label="Pages">'
        ' <span class="is-disabled">← Previous</span>'
        ' <span class="is-current" aria-current="page">1</span>'
        ' <a href="?page=2">2</a>'
        ' <a href="?page=3">3</a>'
        ' <a href="?page=2" rel="next">Next →</a>'
        " </nav>"
    )


def test_htmx_options_go_on_every_link_and_the_anchor_only_on_href():
    html = render(
        numbered_pager(page(2, pages=3), lambda n: f"/runs/1/?page_no_email={n}"),
        'anchor="#skips-no_email" hx_target="#skips-no_email" hx_select="#skips-no_email" '
        'hx_swap="outerHTML" push=True testid="skip-pager" label="Pages of “Guests”"',
    )
    assert '<nav class="pager" aria-label="Pages of “Guests”" data-testid="skip-pager">' in html
    assert (
        '<a href="/runs/1/?page_no_email=3#skips-no_email" hx-get="/runs/1/?page_no_email=3" '
        'hx-target="#skips-no_email" hx-select="#skips-no_email" hx-swap="outerHTML" '
        'hx-push-url="true" rel="next">Next →</a>'
    ) in html
    # Previous, page 1, page 3 and next; the current page is no link.
    assert (
        html.count('hx-get="') == 4
        and '<span class="is-current" aria-current="page">2</span>' in html
    )


def test_addresses_are_escaped():
    html = render(numbered_pager(page(1, pages=2), lambda n: f'?q="x"&page={n}'))
    assert '<a href="?q=&quot;x&quot;&amp;page=2" rel="next">' in html


def test_keyset_pager_goes_to_the_first_page_and_the_next_only():
    first = keyset_pager(first_url=None, next_url="?after=50")
    html = render(first, 'hx_target="#segment-members" next_testid="members-next"')
    assert html == (
        '<nav class="pager" aria-label="Pages"> <a href="?after=50" data-testid="members-next" '
        'hx-get="?after=50" hx-target="#segment-members">Next →</a> </nav>'
    )
    last = render(keyset_pager(first_url="/segments/3/", next_url=None))
    assert (
        last
        == '<nav class="pager" aria-label="Pages"> <a href="/segments/3/">« First page</a> </nav>'
    )
    assert render(keyset_pager(first_url=None, next_url=None)) == ""


@pytest.mark.parametrize(
    "language, previous, following",
    [("pt-br", "← Anterior", "Próxima →"), ("fr", "← Précédent", "Suivant →")],
)
def test_the_pager_speaks_the_readers_language(language, previous, following):  # rule L1
    with translation.override(language):
        html = render(numbered_pager(page(2, pages=3), url_for))
    assert f'rel="prev">{previous}</a>' in html and f'rel="next">{following}</a>' in html

"""`{% pager pager %}`: the one pager of every paged list (`crm.paging.Pager`).

Options: `hx_target` (page over htmx into that element; with `hx_select`, `hx_swap`,
`hx_sync`, and `push=True` to put the address in the history), `anchor` (appended to the plain
links, e.g. "#skips-no_email"), `label` (the navigation's name), `testid` and `next_testid`,
`prev_label` / `next_label` (default "Previous" / "Next"; "First page" on keyset lists)."""

from __future__ import annotations

from django import template
from django.core.paginator import Paginator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from ..paging import Pager

register = template.Library()


def _attrs(url: str, hx: dict, rel: str = "", testid: str = ""):
    pairs = []
    if testid:
        pairs.append(("data-testid", testid))
    if hx["target"]:
        pairs.append(("hx-get", url))
        pairs.append(("hx-target", hx["target"]))
        for name in ("select", "swap"):
            if hx[name]:
                pairs.append((f"hx-{name}", hx[name]))
        if hx["push"]:
            pairs.append(("hx-push-url", "true"))
        if hx["sync"]:
            pairs.append(("hx-sync", hx["sync"]))
    if rel:
        pairs.append(("rel", rel))
    return format_html_join("", ' {}="{}"', pairs)


@register.inclusion_tag("crm/_pager.html")
def pager(
    pager: Pager,
    *,
    hx_target="",
    hx_select="",
    hx_swap="",
    hx_sync="",
    push=False,
    anchor="",
    label="",
    testid="",
    next_testid="",
    prev_label="",
    next_label="",
):
    hx = {"target": hx_target, "select": hx_select, "swap": hx_swap, "sync": hx_sync,
          "push": push}  # fmt: skip
    if pager.keyset:
        prev_text = format_html("« {}", prev_label or gettext("First page"))
    else:
        prev_text = format_html("← {}", prev_label or gettext("Previous"))
    next_text = format_html("{} →", next_label or gettext("Next"))

    def link(url, text, rel="", item_testid=""):
        if url is None:
            # A keyset list shows only the way it can go.
            return None if pager.keyset else {"disabled": True, "text": text}
        return {"href": url + anchor, "text": text, "attrs": _attrs(url, hx, rel, item_testid)}

    items = [link(pager.prev_url, prev_text, "" if pager.keyset else "prev")]
    current = pager.page.number if pager.page is not None else None
    for page_link in pager.links:
        if page_link.number == Paginator.ELLIPSIS:
            items.append({"gap": True})
        elif page_link.number == current:
            items.append({"current": True, "text": page_link.number})
        else:
            items.append(link(page_link.url, page_link.number))
    items.append(link(pager.next_url, next_text, "" if pager.keyset else "next", next_testid))
    return {
        "shown": pager.shown,
        "items": [item for item in items if item is not None],
        "label": label or gettext("Pages"),
        "testid": testid,
    }

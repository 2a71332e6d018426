"""Pages of a list as the pager shows them: previous, next and the page numbers around the
current one (elided far away), each with its address. A view says how a page number becomes an
address (`url_for`); the `pager` template tag (`crm.templatetags.paging`) draws every list's
pager the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.paginator import Page, Paginator

ON_EACH_SIDE = 2
ON_ENDS = 1


@dataclass(frozen=True)
class PageLink:
    number: int | str  # a page number, or Paginator.ELLIPSIS for a gap
    url: str | None  # None for a gap


@dataclass(frozen=True)
class Pager:
    """`links` is empty for a keyset list (no page numbers: a first page and a next one);
    `prev_url` then goes back to the first page."""

    page: Page | None
    prev_url: str | None
    next_url: str | None
    links: tuple[PageLink, ...] = ()
    keyset: bool = False

    @property
    def shown(self) -> bool:
        if self.keyset:
            return bool(self.prev_url or self.next_url)
        return self.page is not None and self.page.paginator.num_pages > 1


def numbered_pager(page: Page, url_for: Callable[[int], str]) -> Pager:
    """The pager of a page of a `Paginator`."""
    range_ = page.paginator.get_elided_page_range(
        page.number, on_each_side=ON_EACH_SIDE, on_ends=ON_ENDS
    )
    return Pager(
        page=page,
        prev_url=url_for(page.number - 1) if page.has_previous() else None,
        next_url=url_for(page.number + 1) if page.has_next() else None,
        links=tuple(PageLink(n, url_for(n) if n != Paginator.ELLIPSIS else None) for n in range_),
    )


def keyset_pager(*, first_url: str | None, next_url: str | None) -> Pager:
    """The pager of a list read by keyset: back to the first page (None on it) and the next."""
    return Pager(page=None, prev_url=first_url, next_url=next_url, keyset=True)

"""Hooks that higher apps fill in `AppConfig.ready()`, so that lower apps can tell about
changes without importing the apps that care (workflows enroll contacts that start matching
their triggers, rule W1)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from django.utils.translation import gettext

# Called (inside the writer's transaction) when at least one contact changed.
ContactsChanged = Callable[[], None]
_CONTACTS_CHANGED: list[ContactsChanged] = []


def on_contacts_changed(listener: ContactsChanged) -> None:
    if listener not in _CONTACTS_CHANGED:
        _CONTACTS_CHANGED.append(listener)


def contacts_changed(contact_ids: Collection[int]) -> None:
    """Called by writers (inside their transaction) with the contacts whose properties or
    activity changed; listeners are told when there is at least one. They must be cheap: they
    queue work on commit."""
    if not contact_ids:
        return
    for listener in _CONTACTS_CHANGED:
        listener()


# What of a higher app's data keeps a brand from being deleted (a protected foreign key), in
# that app's words: model -> function(count) -> "3 marketing events".
HolderWords = Callable[[int], str]
_BRAND_HOLDER_WORDS: dict[type, HolderWords] = {}


def word_brand_holder(model: type, words: HolderWords) -> None:
    _BRAND_HOLDER_WORDS[model] = words


def brand_holder_words(model: type, count: int) -> str:
    words = _BRAND_HOLDER_WORDS.get(model)
    if words is not None:
        return words(count)
    name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
    # Translators: a count and a kind of record, e.g. "3 marketing events".
    return gettext("%(count)s %(records)s") % {"count": count, "records": name}

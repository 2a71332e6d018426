"""Sentences a worker writes and a person reads later, in the reader's language (rule L1).

A Celery worker speaks no one's language: a message it translated would be stored in English for
everyone. So a worker stores the message's id (its English text, marked with `gettext_noop` where it
is written, so that `makemessages` finds it) and its parameters; the page that shows it translates
it then, into its reader's language. API payloads stay English (rule L2): they render the same
stored text with English active.

    error = stored_text(gettext_noop("Zoom answered with an error: %(error)s"), error=str(exc))
    render_stored(error)   # "A Zoom respondeu com um erro: …" for a pt-BR reader

A parameter may itself be a stored text (a retry note wrapping the action's own message). Values
stored before this existed (plain strings) are shown as they were recorded.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

MSGID = "msgid"
PARAMS = "params"


def stored_text(msgid: str, /, **params: Any) -> dict:
    """A message ready for JSON: its id and parameters (strings, numbers, stored texts)."""
    return {MSGID: msgid, PARAMS: params}


def is_stored_text(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(MSGID), str)


def render_stored(value: Any) -> str:
    """The message in the active language; a plain value as it was recorded."""
    if not is_stored_text(value):
        return "" if value is None else str(value)
    params = value.get(PARAMS) or {}
    text = gettext(value[MSGID])
    if not params:
        return text
    try:
        return text % {name: render_stored(param) for name, param in params.items()}
    except (KeyError, TypeError, ValueError):
        # A translation that names a placeholder the code no longer passes: the English text
        # (tested complete) rather than a crash on a page.
        return value[MSGID] % {name: render_stored(param) for name, param in params.items()}


def render_english(value: Any) -> str:
    """For API payloads and log lines (rule L2)."""
    with translation.override("en"):
        return render_stored(value)


def encode(value: dict) -> str:
    """A stored text kept in a text column."""
    return json.dumps(value, ensure_ascii=False)


def decode(text: str) -> Any:
    """A text column's value: the stored text it holds, or the plain text recorded before."""
    if text.startswith("{") and f'"{MSGID}"' in text:
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if is_stored_text(value):
            return value
    return text

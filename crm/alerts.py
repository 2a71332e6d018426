"""Kinds of alerts and how their texts are written (rule L1: translated when shown, never
stored). `crm` is the lowest app: the apps that raise alerts register their kinds here in
`AppConfig.ready()` (zoom_integration, workflows), each with a title, a description and a fix
hint written with gettext_lazy and formatted with the alert's params when shown (the
notifications page, the bell, the e-mail)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .stored_text import is_stored_text, render_stored


class Severity:
    WARNING = "warning"
    CRITICAL = "critical"


# A hint chosen from the params (e.g. by the cause of a failure), or one text for all.
HintChooser = Callable[[Mapping[str, Any]], "Promise | str"]


@dataclass(frozen=True)
class AlertKind:
    code: str
    title: Promise
    description: Promise
    hint: Promise | HintChooser
    severity: str = Severity.WARNING
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # Adds values written at display time (e.g. a reason code's words in the reader's language).
    display_params: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


_KINDS: dict[str, AlertKind] = {}


def register_alert_kind(kind: AlertKind) -> None:
    _KINDS[kind.code] = kind


def alert_kind(code: str) -> AlertKind | None:
    return _KINDS.get(code)


def alert_kinds() -> dict[str, AlertKind]:
    return dict(_KINDS)


class _Params(dict):
    """Params for %-formatting: a name the params lack reads as "?" instead of failing, so an
    alert stored by an older version still shows."""

    def __missing__(self, key: str) -> str:
        return "?"


def _format(text: Promise | str, params: Mapping[str, Any]) -> str:
    # A param may be a stored text (a worker's message): it is read in the reader's language too.
    try:
        return str(text) % _Params({name: _param(value) for name, value in params.items()})
    except (TypeError, ValueError):
        return str(text)


def _param(value: Any) -> Any:
    return render_stored(value) if is_stored_text(value) else value


@dataclass(frozen=True)
class AlertText:
    title: str
    description: str
    hint: str
    severity: str


UNKNOWN_TITLE = _("Alert %(kind)s")
UNKNOWN_DESCRIPTION = _("A problem of a kind this version does not describe.")


def alert_text(kind: str, params: Mapping[str, Any] | None) -> AlertText:
    """The alert's texts in the active language."""
    params = dict(params or {})
    registered = _KINDS.get(kind)
    if registered is None:
        return AlertText(
            title=_format(UNKNOWN_TITLE, {"kind": kind}),
            description=str(UNKNOWN_DESCRIPTION),
            hint="",
            severity=Severity.WARNING,
        )
    values = {**registered.defaults, **params}
    if registered.display_params is not None:
        values.update(registered.display_params(values))
    hint = registered.hint(values) if callable(registered.hint) else registered.hint
    return AlertText(
        title=_format(registered.title, values),
        description=_format(registered.description, values),
        hint=_format(hint, values) if hint else "",
        severity=registered.severity,
    )

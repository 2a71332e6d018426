"""Members as rows (`id, email, firstname, lastname` plus requested properties), for the API's
members pages and the streamed CSV export (the same download from the API and the page)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.csv_export import csv_response
from crm.errors import ValidationFailed
from crm.models import Contact
from crm.properties import (
    PropertySpec,
    all_property_specs,
    property_value,
    requested_property_names,
)

from . import selectors
from .models import Segment

BASE_COLUMNS = ("id", "email", "firstname", "lastname")


def requested_properties(
    raw: str | Sequence[str] | None,
) -> tuple[list[str], dict[str, PropertySpec]]:
    """Property names asked for (comma-separated or a list), bounded in number and length
    (`crm.properties.requested_property_names`), checked against the known ones."""
    if isinstance(raw, str):
        names = requested_property_names([raw])
    else:
        names = requested_property_names(n for n in raw or [] if n)
    specs = all_property_specs()
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValidationFailed(
            _("Unknown property %(name)s") % {"name": repr(unknown[0])},
            errors=[
                {
                    "name": "properties",
                    "message": _("unknown: %(names)s") % {"names": ", ".join(unknown)},
                }
            ],
        )
    extra = [n for n in dict.fromkeys(names) if n not in BASE_COLUMNS]
    return extra, specs


def prefetch_for(names: Iterable[str]) -> tuple[str, ...]:
    return ("secondary_emails",) if "hs_additional_emails" in names else ()


def member_row(contact: Contact, names: Sequence[str], specs: Mapping[str, PropertySpec]) -> dict:
    row = {
        "id": contact.pk,
        "email": contact.email,
        "firstname": contact.first_name,
        "lastname": contact.last_name,
    }
    for name in names:
        row[name] = property_value(contact, specs[name])
    return row


def member_csv_rows(
    contacts: Iterable[Contact], names: Sequence[str], specs: Mapping[str, PropertySpec]
) -> Iterator[list]:
    """The header, then a row per member, in the columns' order."""
    columns = (*BASE_COLUMNS, *names)
    yield list(columns)
    for contact in contacts:
        row = member_row(contact, names, specs)
        yield [row[c] for c in columns]


def export_response(segment: Segment, properties: str | None) -> StreamingHttpResponse:
    """The members as a CSV download, streamed a chunk of members at a time (any size,
    bounded memory). Raises `ValidationFailed` for an unknown property, before any query."""
    names, specs = requested_properties(properties)
    contacts = selectors.iter_members(
        selectors.segment_contacts(segment=segment), prefetch=prefetch_for(names)
    )
    stamp = timezone.now().strftime("%Y%m%d")
    return csv_response(
        member_csv_rows(contacts, names, specs), filename=f"segment-{segment.pk}-{stamp}.csv"
    )

"""Contact properties the registration features add (rules E2, E5)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from crm.models import PropertyType
from crm.properties import PropertySpec

FIRST_TOUCH = (
    ("first_utm_source", gettext_noop("First UTM source")),
    ("first_utm_medium", gettext_noop("First UTM medium")),
    ("first_utm_campaign", gettext_noop("First UTM campaign")),
    ("first_utm_term", gettext_noop("First UTM term")),
    ("first_utm_content", gettext_noop("First UTM content")),
    ("first_referrer", gettext_noop("First referrer")),
)

REGISTRATION_PROPERTIES = [
    # HubSpot's standard `industry`, the target of rule E2's built-in `industry` mapping.
    PropertySpec(
        "industry",
        gettext_noop("Industry"),
        PropertyType.STRING,
        "text",
        None,
        group_name="companyinformation",
    ),
    # Rule E5: the first touch, set once by the public registration page, never overwritten.
    *(
        PropertySpec(
            name,
            label,
            PropertyType.STRING,
            "text",
            None,
            read_only=True,
            group_name="zoom_attribution",
        )
        for name, label in FIRST_TOUCH
    ),
]

"""The segment builder's data, for every page that embeds it (the segment editor, a workflow's
filter trigger): what it may offer (filter types by group, properties with their kinds and
options, limits, the addresses it calls) and the names of the events and webinars a filter tree
refers to. The builder itself is static/segments/builder.js."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.contact_filters import MAX_TEXT_LENGTH, REGISTRY
from crm.properties import all_property_specs, option_label, spec_label
from crm.property_filter import property_kind
from crm.search_text import MAX_SEARCH_LENGTH
from marketing_events.models import MarketingEvent

FILTER_GROUPS = {
    "contact": gettext_lazy("Contact"),
    "marketing_events": gettext_lazy("Marketing events"),
    "zoom": gettext_lazy("Zoom"),
}


def catalogue() -> dict:
    """What the builder needs to offer: filter types, properties with their kinds and options."""
    specs = all_property_specs()
    properties = [
        {
            "name": spec.name,
            "label": spec_label(spec),
            "kind": property_kind(spec),
            "options": [
                {"value": v, "label": option_label(spec, label)} for v, label in spec.options
            ]
            if spec.type != "bool"
            else [{"value": "true", "label": _("Yes")}, {"value": "false", "label": _("No")}],
            "group": "legacy"
            if spec.group_name == "zoom_legacy"
            else ("custom" if spec.custom else "standard"),
        }
        for spec in sorted(specs.values(), key=lambda s: spec_label(s).lower())
    ]
    types = [{"type": t.name, "label": str(t.label), "group": t.group} for t in REGISTRY.values()]
    return {
        "types": types,
        "groups": {k: str(v) for k, v in FILTER_GROUPS.items()},
        "properties": properties,
        "limits": {"search": MAX_SEARCH_LENGTH, "text": MAX_TEXT_LENGTH},
        "urls": {
            "preview": reverse("api-segment-preview"),
            "convert": reverse("api-segment-convert"),
            "events": reverse("segments:pick_events"),
            "webinars": reverse("segments:pick_webinars"),
        },
        "pickers": {t.name: t.pickers() for t in REGISTRY.values() if t.pickers is not None},
    }


def tree_labels(tree) -> dict:
    """Names of the events and webinars a tree refers to, so the builder shows them (a tree
    that is not a dict, as posted unreadable, refers to none)."""
    event_ids, webinar_ids = set(), set()
    if not isinstance(tree, dict):
        tree = {}
    for group in tree.get("or") or []:
        for node in group.get("and") or []:
            if node.get("event_id"):
                event_ids.add(node["event_id"])
            if node.get("webinar_id"):
                webinar_ids.add(str(node["webinar_id"]))
    events = {
        str(pk): name
        for pk, name in MarketingEvent.objects.filter(pk__in=event_ids).values_list("pk", "name")
    }
    webinars = {
        ext: name
        for ext, name in MarketingEvent.objects.filter(
            source="zoom", external_event_id__in=webinar_ids
        ).values_list("external_event_id", "name")
    }
    return {"events": events, "webinars": webinars}

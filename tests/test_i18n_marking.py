"""Nothing is translated at import time (issue 20, rule L1): labels evaluated when a module is
imported are lazy, so each reader gets them in the language of their request; and texts that
API payloads carry stay English whatever the language (rule L2)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.functional import Promise

ROOT = Path(__file__).resolve().parent.parent
APPS = ("crm", "marketing_events", "segments", "workflows", "zoom_integration")

# Runs in a fresh interpreter: spies on Django's gettext before anything is imported, sets
# Django up with French active, imports every module of the apps (and the URLconf, which
# imports the views), and prints the translations our own modules asked for meanwhile.
IMPORT_EVERYTHING = r"""
import importlib, json, os, pkgutil, sys, traceback
import django.utils as django_utils
from django.utils.translation import trans_real

root = sys.argv[1]
apps = sys.argv[2].split(",")
ours = tuple(os.path.join(root, app) + os.sep for app in apps)
calls = []

# Frames between a caller and gettext: Django's translation functions and lazy proxies.
plumbing = tuple(
    os.path.join(os.path.dirname(django_utils.__file__), name)
    for name in ("translation" + os.sep, "functional.py")
)

def spy(real):
    def wrapper(*args, **kwargs):
        if trans_real.get_language() is None:  # deactivate_all(): the English source, always
            return real(*args, **kwargs)
        for frame in reversed(traceback.extract_stack()[:-1]):
            if frame.filename.startswith(plumbing):
                continue
            # The code that asked for the translation (or forced a lazy one): ours or not.
            if frame.filename.startswith(ours):
                calls.append(f"{frame.filename[len(root) + 1:]}:{frame.lineno}: {args[0]!r}")
            break
        return real(*args, **kwargs)
    return wrapper

trans_real.gettext = spy(trans_real.gettext)
trans_real.ngettext = spy(trans_real.ngettext)

import django
from django.conf import settings

django.setup()
from django.utils import translation

translation.activate("fr")
importlib.import_module(settings.ROOT_URLCONF)
for app in apps:
    package = importlib.import_module(app)
    for module in pkgutil.walk_packages(package.__path__, app + "."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
print(json.dumps(calls))
"""


def test_importing_the_apps_translates_nothing():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, str(ROOT), ",".join(APPS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    calls = json.loads(done.stdout.strip().splitlines()[-1])
    assert calls == []


def test_fix_hints_are_lazy_and_follow_the_active_language():
    from marketing_events.rules import FIX_HINTS, SkipReason

    assert set(FIX_HINTS) == set(SkipReason)
    for hint in FIX_HINTS.values():
        assert isinstance(hint, Promise)
    with translation.override("fr"):
        hint = FIX_HINTS[SkipReason.NO_EMAIL]
        assert str(hint) == translation.gettext(
            "Zoom did not share this person's e-mail (a guest). Require registration, or ask "
            "attendees to sign in, so Zoom reports their address."
        )


def test_labels_evaluated_at_import_time_are_lazy():
    from django.apps import apps

    from crm.contact_filters import OPERATOR_WORDS, REGISTRY
    from crm.scopes import SCOPES
    from workflows.actions import REGISTRY as ACTIONS

    lazy = [
        *(description for description, _write in SCOPES.values()),
        *(filter_type.label for filter_type in REGISTRY.values()),
        *(action_type.label for action_type in ACTIONS.values()),
        *OPERATOR_WORDS.values(),
        *(apps.get_app_config(app).verbose_name for app in APPS),
    ]
    assert lazy
    assert [text for text in lazy if not isinstance(text, Promise)] == []


def test_standard_property_labels_stay_english_for_the_api_and_are_translated_on_pages():
    # Rule L2: the API sends them as they are; pages show them through spec_label.
    from crm.properties import STANDARD_BY_NAME, option_label, spec_label

    with translation.override("fr"):
        email = STANDARD_BY_NAME["email"]
        assert email.label == "Email"
        assert spec_label(email) == translation.gettext("Email")
        stage = STANDARD_BY_NAME["lifecyclestage"]
        assert dict(stage.options)["lead"] == "Lead"
        assert option_label(stage, "Lead") == translation.gettext("Lead")


def test_filter_summaries_read_as_before_in_english():
    """Summaries are whole sentences with placeholders now; in English they read as before."""
    from crm.contact_filters import describe_comparison

    with translation.override("en"):
        assert describe_comparison("City", {"operator": "eq", "value": "Paris"}) == "City is Paris"
        assert describe_comparison("City", {"operator": "is_known"}) == "City is known"
        assert (
            describe_comparison("Age", {"operator": "between", "value": [1, 2]})
            == "Age is between 1 and 2"
        )
        assert describe_comparison("Tag", {"operator": "in", "value": ["a", "b"]}) == (
            "Tag is any of a, b"
        )
        assert (
            describe_comparison(
                "Duration", {"operator": "gte", "value": 600}, unit=" min", scale=60
            )
            == "Duration is at least 10 min"
        )


def test_skip_hints_in_the_api_stay_english(monkeypatch):
    """Rule L2: the sync run's skips API carries fix hints in English whatever the language
    (a hint that names the language it is read in shows which one the API used)."""
    from django.utils.functional import lazy

    from marketing_events.rules import FIX_HINTS, SkipReason
    from zoom_integration.api.serializers import SyncSkipOutput

    monkeypatch.setitem(FIX_HINTS, SkipReason.CRM_USER, lazy(translation.get_language, str)())

    class Skip:
        reason = SkipReason.CRM_USER
        email = "ana@example.com"
        name = "Ana"
        webinar_id = "81234567890"

    with translation.override("fr"):
        assert str(FIX_HINTS[SkipReason.CRM_USER]) == "fr"
        assert SyncSkipOutput(Skip()).data["hint"] == "en"


@pytest.mark.django_db
def test_date_filters_read_as_dates():
    """A relative date compared with "at least" read as "a year old or more"; a date filter
    says on or after, before, and so on, in every language."""
    from crm.contact_filters import FilterContext
    from crm.property_filter import describe

    ctx = FilterContext.build()
    node = {
        "type": "property",
        "property": "createdate",
        "operator": "gte",
        "value": {"days_ago": 365},
    }
    with translation.override("en"):
        assert describe(node, ctx) == "Create date is on or after 365 days ago"
        assert describe({**node, "operator": "lt"}, ctx) == "Create date is before 365 days ago"
        number = {"type": "property", "property": "num_employees", "operator": "gte", "value": 5}
        assert "is at least 5" in describe(number, ctx)
    for language in ("pt-br", "fr"):
        with translation.override(language):
            text = describe(node, ctx)
        assert "365" in text and text != "Create date is on or after 365 days ago"

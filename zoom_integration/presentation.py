"""What the Zoom pages say, in the reader's language (rule L1): the domain lists of Global
settings, a run's counts and errors in plain words, the skip sections of a run (rule Z9), and
the webhook health panel's reasons and outcomes. No queries: the views hand in what they read.
The alerts reuse the refusal reasons and hints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.paging import Pager
from crm.stored_text import render_stored
from marketing_events.rules import FIX_HINTS, SkipReason

# The three domain lists of the Global settings tab, in the seed's order (rules S3-S5).
DOMAIN_LISTS = {
    "webinar_exclusion_domains": {
        "title": _("Exclusions"),
        "help": _(
            "Webinars hosted by Zoom users with these e-mail domains are never synced. "
            "A domain also covers its subdomains."
        ),
        "empty": _("No excluded host domains: webinars of every host can sync."),
    },
    "recording_exclusion_domains": {
        "title": _("Recording exclusions"),
        "help": _(
            "Recordings and transcripts of hosts in these domains are never synced. "
            "Enter a domain or choose from the list of your Zoom users' domains."
        ),
        "empty": _("No recording exclusions."),
    },
    "contact_exclusion_domains": {
        "title": _("Contact exclusions"),
        "help": _(
            "Enter your company's domain so that employees are never created as new contacts. "
            "Existing contacts still receive webinar activity."
        ),
        "empty": _("No contact exclusions: anyone who registers can become a contact."),
    },
}


# A run's counts and errors ---------------------------------------------------------------------

# What a run counted, in plain words and in this order (keys from the metadata refresh and the
# sync pipeline); a key not listed here is shown after them with its name spelled out.
COUNT_PHRASES = {
    "zoom_users": lambda n: ngettext("%(n)s Zoom user", "%(n)s Zoom users", n),
    "webinars": lambda n: ngettext("%(n)s webinar", "%(n)s webinars", n),
    "new_webinars": lambda n: ngettext("%(n)s new webinar", "%(n)s new webinars", n),
    "registrations": lambda n: ngettext("%(n)s registration", "%(n)s registrations", n),
    "attendance_rows": lambda n: ngettext("%(n)s attendance row", "%(n)s attendance rows", n),
    "contacts_created": lambda n: ngettext("%(n)s contact created", "%(n)s contacts created", n),
    "webinars_synced": lambda n: ngettext("%(n)s webinar synced", "%(n)s webinars synced", n),
    "webinars_skipped": lambda n: ngettext("%(n)s webinar skipped", "%(n)s webinars skipped", n),
    "recordings": lambda n: ngettext("%(n)s recording", "%(n)s recordings", n),
    # Engagement (rules E6, E7).
    "poll_answers": lambda n: ngettext("%(n)s poll answer", "%(n)s poll answers", n),
    "questions": lambda n: ngettext("%(n)s question asked", "%(n)s questions asked", n),
    "survey_answers": lambda n: ngettext("%(n)s survey answer", "%(n)s survey answers", n),
    "anonymous_answers": lambda n: ngettext("%(n)s anonymous answer", "%(n)s anonymous answers", n),
    "recording_views": lambda n: ngettext("%(n)s recording view", "%(n)s recording views", n),
    "engagement_reports_unchanged": lambda n: ngettext(
        "%(n)s engagement report unchanged", "%(n)s engagement reports unchanged", n
    ),
    "engagement_unmatched": lambda n: ngettext(
        "%(n)s answer of a person without a participation",
        "%(n)s answers of people without a participation",
        n,
    ),
    # Rule E4: registrations attributed to a tracking source through Zoom's per-source list.
    "registration_sources": lambda n: ngettext(
        "%(n)s registration attributed to its tracking source",
        "%(n)s registrations attributed to their tracking source",
        n,
    ),
    # Rule E2: answers a mapped property could not take (too long, not an allowed option).
    "answers_refused": lambda n: ngettext(
        "%(n)s answer not written to its property", "%(n)s answers not written to their property", n
    ),
    "zoom_records": lambda n: ngettext(
        "%(n)s record read from Zoom", "%(n)s records read from Zoom", n
    ),
}
RUN_ERRORS = {
    "sync_disabled": _("Sync webinar data is off, so only users and webinars were refreshed."),
    "disconnected": _("The connection was disconnected."),
}


def count_phrases(counts: dict) -> list[str]:
    """A run's counts in plain words ("3 registrations", "1 webinar skipped"), known keys
    first in a fixed order."""
    known = [k for k in COUNT_PHRASES if k in counts]
    other = sorted(k for k in counts if k not in COUNT_PHRASES)
    phrases = []
    for key in known + other:
        value = counts[key]
        if not isinstance(value, int):
            continue
        if key in COUNT_PHRASES:
            # The plural form follows the number; the number is written the locale's way.
            phrases.append(
                COUNT_PHRASES[key](value) % {"n": number_format(value, force_grouping=True)}
            )
        else:
            phrases.append(f"{number_format(value, force_grouping=True)} {key.replace('_', ' ')}")
    return phrases


def run_error_text(error) -> str:
    """A run's recorded error in the reader's language: a code, or a stored sentence."""
    if isinstance(error, str) and error in RUN_ERRORS:
        return str(RUN_ERRORS[error])
    return render_stored(error)


def duration_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 1:
        return gettext("less than a second")
    if seconds < 60:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return gettext("%(m)s min %(s)s s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return gettext("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


# Skips of a run (rule Z9) ----------------------------------------------------------------------

# Reasons that skip a whole webinar (once per run): their rows name a webinar, not a person.
WEBINAR_REASONS = frozenset(
    {SkipReason.ZOOM_EVENTS, SkipReason.EXCLUDED_HOST_DOMAIN, SkipReason.WEBINAR_SYNC_OFF}
)
SKIP_TITLES = {
    SkipReason.NO_EMAIL: _("No e-mail address (guests)"),
    SkipReason.ZOOM_EVENTS: _("Zoom Events webinars"),
    SkipReason.EXCLUDED_HOST_DOMAIN: _("Hosts in an excluded domain"),
    SkipReason.CRM_USER: _("CRM users"),
    SkipReason.SECONDARY_EMAIL: _("Secondary e-mails of contacts"),
    SkipReason.DELETED_CONTACT: _("Deleted contacts"),
    SkipReason.CONTACT_EXCLUSION_DOMAIN: _("Contact exclusion domains"),
    SkipReason.WEBINAR_SYNC_OFF: _("Webinars with sync turned off"),
}
REASON_ORDER = {reason: n for n, reason in enumerate(SkipReason)}


def skip_title(reason: str) -> str:
    return str(SKIP_TITLES.get(reason, reason.replace("_", " ").capitalize()))


def skip_counts_with_run(listed: Mapping[str, int], run_skips: Mapping) -> dict[str, int]:
    """The listed skips per reason, plus the reasons the run counted but kept no rows for
    (nothing to list): those still get their section."""
    counted = dict(listed)
    for reason, n in (run_skips or {}).items():
        if isinstance(n, int) and n and reason not in counted:
            counted[reason] = n
    return counted


def reasons_in_order(reasons: Iterable[str]) -> list[str]:
    """Rule Z9's reasons in their fixed order, unknown ones last by name."""
    return sorted(reasons, key=lambda r: (REASON_ORDER.get(r, len(REASON_ORDER)), r))


def skip_section(*, reason: str, count: int, pager: Pager) -> dict:
    """One reason's section of the run page: title, fix hint, count and a page of rows."""
    return {
        "reason": reason,
        "title": skip_title(reason),
        "hint": str(FIX_HINTS[reason]) if reason in FIX_HINTS else "",
        "count": count,
        "is_webinar_reason": reason in WEBINAR_REASONS,
        "page": pager.page,
        "rows": list(pager.page.object_list),
        "pager": pager,
    }


# Webhook health (rule B4) ----------------------------------------------------------------------

REJECTION_REASONS = {
    "bad_signature": _("Bad signature (wrong secret token)"),
    "stale_timestamp": _("Stale timestamp (older than 5 minutes)"),
    "malformed_body": _("Malformed body"),
    "wrong_account": _("Another Zoom account's event"),
    "account_unknown": _("Zoom account not known yet"),
    # No longer counted (nothing is kept for connections that do not exist); entries cached
    # before that still read well until they expire.
    "unknown_connection": _("Unknown connection"),
}
REJECTION_HINTS = {
    "bad_signature": _(
        "The secret token in your Zoom app's Feature > Event subscriptions differs from the "
        "one saved with this connection."
    ),
    "stale_timestamp": _(
        "The request was signed more than 5 minutes before it arrived: a replay, or a clock "
        "that is off."
    ),
    "malformed_body": _("The body was not a Zoom event (JSON with 'event' and 'payload')."),
    "wrong_account": _(
        "Correctly signed, but about another Zoom account than this connection's (rule Z10): "
        "another account's app uses this URL and secret token. Nothing was applied."
    ),
    "account_unknown": _(
        "This connection's Zoom account is known once its authorization completes; until "
        "then no event can be shown to be its own, so none is applied."
    ),
    "unknown_connection": _("The URL names a connection that does not exist."),
}


def rejection_text(reason: str) -> str:
    return str(REJECTION_REASONS.get(reason, reason.replace("_", " ")))


# Outcomes the receiver and the processing record as codes, in plain words; others are shown
# as recorded (they are already sentences).
OUTCOME_TEXTS = {
    "sync_disabled": _("Ignored: Sync webinar data is off"),
    "wrong_account": _("Ignored: sent for another Zoom account"),
    "disconnected": _("Ignored: the connection is disconnected"),
    # The processing's fixed outcomes (`webhooks.processing`), stored in English.
    "event not used by the CRM": _("event not used by the CRM"),
    "payload without a webinar id": _("payload without a webinar id"),
    "registration pending approval": _("registration pending approval"),
    "recordings not synced for this host (S2/S4)": _("recordings not synced for this host (S2/S4)"),
}
# Outcomes stored with a detail after a fixed start, e.g. "skipped: no_email ana@example.com".
OUTCOME_PREFIXES = {
    "skipped: ": _("skipped: %(detail)s"),
    "waiting for the join of ": _("waiting for the join of %(detail)s"),
}


def outcome_text(outcome: str) -> str:
    """A recorded outcome in the reader's language (unknown ones as recorded). A skip names its
    reason code first ("skipped: no_email ana@example.com"): the reason's title replaces it."""
    if outcome in OUTCOME_TEXTS:
        return str(OUTCOME_TEXTS[outcome])
    for start, text in OUTCOME_PREFIXES.items():
        if outcome.startswith(start):
            detail = outcome[len(start) :]
            reason, _space, who = detail.partition(" ")
            if start == "skipped: " and reason in SKIP_TITLES:
                detail = f"{SKIP_TITLES[reason]} ({who})" if who else str(SKIP_TITLES[reason])
            return text % {"detail": detail}
    return outcome

"""Rule E5: the public registration page's form and registering through it.

Anyone with the link registers for a synced upcoming webinar through its connection's Zoom
account (rules W5-W8 as the workflow action; any brand's connection). The participation keeps
the answers, the UTM parameters and the referrer; the contact's first touch (`first_utm_*`,
`first_referrer`) is set once and never overwritten. Registering the same e-mail again answers
the same join URL and registers nobody new.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django import forms
from django.core import signing
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Account, normalize_email
from marketing_events.models import Participation, ParticipationState
from marketing_events.models_registration import UTM_FIELDS
from marketing_events.plan import PropertyWrite, RegistrationFact, answer_text
from marketing_events.registration_answers import STANDARD_QUESTIONS
from marketing_events.selectors import crm_snapshot
from marketing_events.services import plan_apply

from ..client import ZoomNotFound, ZoomValidationError
from ..legacy import contacts_recompute_legacy
from ..models import ConnectionStatus, ZoomWebinar
from ..models_registration import WebinarRegistrationInfo
from ..sync.events import webinar_event_ensure
from ..sync.planner import SyncSettings, plan_registrants
from ..sync.records import Registrant, WebinarInfo
from .fill import CUSTOM_ANSWER_MAX
from .mappings import CHOICE_SEPARATOR
from .personal import TOKEN_MAX_LENGTH, known_answers
from .sync import MULTI_CHOICE_TYPE, answer_mappings, tracking_source_names

RATE_LIMIT = 10  # submissions per IP address per minute (DESIGN E5)
RATE_WINDOW = 60
# The form's own token (instead of the CSRF cookie, which a browser neither keeps nor sends in
# a third-party iframe): signed for one webinar's page, valid this long after the page was shown.
FORM_TOKEN_SALT = "zoom_integration.registration.public-form"
FORM_TOKEN_MAX_AGE = 24 * 3600
FORM_TOKEN_MAX_LENGTH = 300
ZOOM_HOST_CODE = 3027
STANDARD_LABELS = {"last_name": _("Last name"), **STANDARD_QUESTIONS}


def public_webinar(connection_id: int, zoom_webinar_id: int) -> ZoomWebinar | None:
    """A synced upcoming webinar of a connected connection, or None (the page is a 404)."""
    webinar = (
        ZoomWebinar.objects.select_related("connection")
        .filter(
            connection_id=connection_id,
            zoom_webinar_id=zoom_webinar_id,
            connection__status=ConnectionStatus.CONNECTED,
            sync_enabled=True,
            is_zoom_events=False,
        )
        .first()
    )
    if webinar is None or webinar.has_ended:
        return None
    return webinar


def rate_limited(ip: str) -> bool:
    """True past RATE_LIMIT submissions from this address in the current minute."""
    key = f"public-registration:{ip}:{int(timezone.now().timestamp()) // RATE_WINDOW}"
    cache.add(key, 0, RATE_WINDOW + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, RATE_WINDOW + 5)
        count = 1
    return count > RATE_LIMIT


def form_token(webinar: ZoomWebinar) -> str:
    """A token for one rendering of the webinar's form: signed (salted for this use), bound to
    the connection and the webinar, timestamped."""
    return signing.dumps(
        {"w": [webinar.connection_id, webinar.zoom_webinar_id], "n": secrets.token_hex(8)},
        salt=FORM_TOKEN_SALT,
    )


def form_token_valid(token: str | None, webinar: ZoomWebinar) -> bool:
    """True when `token` was made by `form_token` for this webinar less than
    FORM_TOKEN_MAX_AGE ago. Never raises."""
    if not isinstance(token, str) or not token or len(token) > FORM_TOKEN_MAX_LENGTH:
        return False
    try:
        payload = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError):
        return False
    return isinstance(payload, dict) and payload.get("w") == [
        webinar.connection_id,
        webinar.zoom_webinar_id,
    ]


class RegistrationForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=64)
    last_name = forms.CharField(label=_("Last name"), max_length=64, required=False)
    email = forms.EmailField(label=_("Email"), max_length=128)
    # A field people never see (hidden by the stylesheet); robots fill it.
    website = forms.CharField(
        required=False,
        label=_("Leave this empty"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    utm_source = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    utm_medium = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    utm_campaign = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    utm_term = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    utm_content = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    referrer = forms.CharField(required=False, widget=forms.HiddenInput, max_length=1000)
    # A personal link's token (`personal.py`), sent back so that the submission knows who
    # registers; verified again on every request, never trusted as it comes.
    c = forms.CharField(required=False, widget=forms.HiddenInput, max_length=TOKEN_MAX_LENGTH)
    # The form token (`form_token`); the view checks it before reading anything else.
    t = forms.CharField(required=False, widget=forms.HiddenInput, max_length=FORM_TOKEN_MAX_LENGTH)

    def __init__(self, *args, questions=(), consent_text="", known=None, **kwargs):
        """`known`: what a personal link's contact already told (`personal.known_answers`):
        those fields and questions are not asked, their values are used."""
        super().__init__(*args, **kwargs)
        self.known = dict(known or {})
        self.questions = []
        self.known_questions = []
        for own in ("first_name", "last_name", "email"):
            if self.known.get(own):
                del self.fields[own]
        for index, question in enumerate(questions):
            name = question["question"]
            if name in ("first_name", "email"):
                continue
            if name == "last_name":
                if "last_name" in self.fields:
                    self.fields["last_name"].required = bool(question.get("required"))
                continue
            if self.known.get(name):
                self.known_questions.append((question, self.known[name]))
                continue
            key = f"q{index}"
            label = STANDARD_LABELS.get(name, name) if question["type"] == "standard" else name
            required = bool(question.get("required"))
            if question["type"] in ("single_radio", "single_dropdown") and question.get("answers"):
                choices = [("", "—")] + [(a, a) for a in question["answers"]]
                field = forms.ChoiceField(label=label, required=required, choices=choices)
            elif question["type"] == MULTI_CHOICE_TYPE and question.get("answers"):
                field = forms.MultipleChoiceField(
                    label=label,
                    required=required,
                    choices=[(a, a) for a in question["answers"]],
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                field = forms.CharField(label=label, required=required, max_length=128)
            self.fields[key] = field
            self.questions.append((key, question))
        if consent_text:
            self.fields["consent"] = forms.BooleanField(label=consent_text, required=True)

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("This field must stay empty."))
        return ""

    def clean(self):
        cleaned = super().clean()
        for own in ("first_name", "last_name", "email"):
            if self.known.get(own):
                cleaned[own] = self.known[own]
        for key, _question in self.questions:
            chosen = cleaned.get(key)
            # Zoom takes the choices in one value of at most 128 characters.
            if isinstance(chosen, list) and len(CHOICE_SEPARATOR.join(chosen)) > CUSTOM_ANSWER_MAX:
                self.add_error(key, _("Choose fewer answers."))
        return cleaned

    def answers(self) -> list[tuple[str, str, str | tuple[str, ...]]]:
        """(question, kind, value) of the answered questions; the choices of a multi-choice
        question as a tuple (rule E1)."""
        out = []
        for key, question in self.questions:
            raw = self.cleaned_data.get(key)
            if isinstance(raw, list):
                value = tuple(str(v) for v in raw if str(v).strip())
            else:
                value = str(raw or "").strip()
            if value:
                out.append((question["question"], question["type"], value))
        for question, value in self.known_questions:
            value = tuple(value) if isinstance(value, list) else value
            out.append((question["question"], question["type"], value))
        return out

    def known_items(self) -> list[tuple[str, str]]:
        """(label, value) of what is not asked because it is known, for the page to show."""
        items = []
        for question, value in self.known_questions:
            name = question["question"]
            label = STANDARD_LABELS.get(name, name) if question["type"] == "standard" else name
            items.append((label, answer_text(value)))
        return items


def form_for(webinar: ZoomWebinar, data=None, initial=None, contact=None) -> RegistrationForm:
    """The page's form; with the contact of a personal link, what it knows is not asked."""
    info = WebinarRegistrationInfo.objects.filter(webinar=webinar).first()
    account = Account.objects.filter(pk=1).first()
    questions = info.questions if info else []
    return RegistrationForm(
        data,
        initial=initial,
        questions=questions,
        consent_text=account.registration_consent_text if account else "",
        known=known_answers(webinar, contact, questions) if contact is not None else None,
    )


@dataclass
class Registered:
    join_url: str
    registrant_id: str


class RegistrationRefused(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def public_register(webinar: ZoomWebinar, form: RegistrationForm) -> Registered:
    """Registers the form's person (a valid form). Idempotent by e-mail."""
    from ..services.client import zoom_client

    data = form.cleaned_data
    email = normalize_email(data["email"])
    connection = webinar.connection
    # Rule W5: the host and the connected user cannot register.
    if email in {
        normalize_email(webinar.host_email),
        normalize_email(connection.connected_user_email),
    } - {""}:
        raise RegistrationRefused(str(_("Webinar host cannot register to the webinar")), "email")
    existing = (
        Participation.objects.filter(
            contact__email=email, event_id=webinar.event_id, event__isnull=False
        )
        .exclude(state=ParticipationState.CANCELLED)
        .exclude(external_registrant_id="")
        .first()
        if webinar.event_id
        else None
    )
    if existing is not None:  # never double-registers: the same join URL
        return Registered(existing.join_url, existing.external_registrant_id)
    body: dict = {"email": email, "first_name": data["first_name"]}
    if data.get("last_name"):
        body["last_name"] = data["last_name"]
    custom = []
    for question, kind, value in form.answers():
        if kind == "standard":
            body[question] = value
        else:  # Zoom takes a multi-choice answer as one string
            text = answer_text(value, separator=CHOICE_SEPARATOR)
            custom.append({"title": question, "value": text})
    if custom:
        body["custom_questions"] = custom
    try:
        answer = zoom_client(connection).add_registrant(webinar.zoom_webinar_id, body)
    except ZoomValidationError as error:
        if error.code == ZOOM_HOST_CODE:
            raise RegistrationRefused(
                str(_("Webinar host cannot register to the webinar")), "email"
            )
        fields = [e.get("field") for e in error.errors if e.get("field")]
        raise RegistrationRefused(
            str(_("Zoom refused the registration: %(error)s"))
            % {"error": ", ".join(fields) or error.message}
        )
    except ZoomNotFound:
        raise RegistrationRefused(str(_("This webinar is no longer open for registration.")))
    _record(webinar, form, email, answer)
    return Registered(str(answer.get("join_url") or ""), str(answer.get("registrant_id") or ""))


def _record(webinar: ZoomWebinar, form: RegistrationForm, email: str, answer: dict) -> None:
    """Rule W8 and E5: the participation at once, with answers, UTM and referrer; mapped
    answers and the first touch written to the contact in the same transaction."""
    data = form.cleaned_data
    event = webinar_event_ensure(webinar.connection, webinar)
    info = WebinarInfo(
        zoom_webinar_id=webinar.zoom_webinar_id,
        topic=webinar.topic,
        host_email=webinar.host_email,
        is_zoom_events=webinar.is_zoom_events,
        sync_enabled=True,
        event_id=event.pk,
        join_url=webinar.join_url,
    )
    registrant = Registrant.from_zoom(
        {
            "id": answer.get("registrant_id") or answer.get("id"),
            "email": email,
            "first_name": data["first_name"],
            "last_name": data.get("last_name") or "",
            "status": "approved",
            "join_url": answer.get("join_url") or "",
            **{q: v for q, kind, v in form.answers() if kind == "standard"},
            "custom_questions": [
                {"title": q, "value": v} for q, kind, v in form.answers() if kind != "standard"
            ],
        }
    )
    registrant = Registrant(**{**registrant.__dict__, "create_time": timezone.now()})
    connection = webinar.connection
    settings = SyncSettings(
        webinar_exclusion_domains=tuple(connection.webinar_exclusion_domains),
        contact_exclusion_domains=tuple(connection.contact_exclusion_domains),
    )
    plan = plan_registrants(
        info,
        [registrant],
        crm_snapshot([email]),
        settings,
        sources=tracking_source_names(webinar),
        mappings=answer_mappings(webinar),
    )
    utm = tuple((k, str(data[k])) for k in UTM_FIELDS if data.get(k))
    referrer = str(data.get("referrer") or "")
    plan.registrations = [
        RegistrationFact(**{**fact.__dict__, "utm": utm, "referrer": referrer})
        for fact in plan.registrations
    ]
    for fact in plan.registrations:  # the first touch: set once, never overwritten
        for key, value in utm:
            plan.property_writes.append(PropertyWrite(fact.email, f"first_{key}", value))
        if referrer:
            plan.property_writes.append(PropertyWrite(fact.email, "first_referrer", referrer))
    result = plan_apply(plan)
    contacts_recompute_legacy(result.contact_ids)

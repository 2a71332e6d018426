"""Forms of the HTML views. Contact forms carry HubSpot-named fields; the services validate
values and the views map `ValidationFailed.errors` back onto these fields."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..languages import language_choices
from ..models import CONSENT_TEXT_MAX, PropertyType, Role, Tier
from ..properties import PropertySpec, option_label, parse_datetime_value, spec_label
from ..scopes import SCOPES

# Standard properties by section, in the order a person reads them. Custom properties follow.
PROPERTY_SECTIONS: tuple[tuple[str, object, tuple[str, ...]], ...] = (
    (
        "contact",
        _("Contact information"),
        ("firstname", "lastname", "email", "phone", "mobilephone", "jobtitle"),
    ),
    ("company", _("Company"), ("company", "website")),
    ("address", _("Address"), ("address", "city", "state", "zip", "country")),
    ("sales", _("Sales"), ("lifecyclestage", "hs_lead_status")),
)
RECORD_SECTION = ("record", _("Record"), ("hs_object_id", "createdate", "lastmodifieddate"))
# Secondary e-mails have their own inline editor on the contact page.
NOT_IN_FORMS = {"hs_additional_emails"}


# Titles of the sections that other apps' registered properties go in.
REGISTERED_GROUP_TITLES = {"zoom_legacy": _("Zoom (legacy properties)")}


def custom_sections(specs: dict[str, PropertySpec]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Custom properties by group, then the properties other apps registered (such as the
    legacy Zoom ones: read-only, kept in `Contact.properties`)."""
    groups: dict[str, list[str]] = {}
    registered: dict[str, list[str]] = {}
    for spec in specs.values():
        if spec.custom:
            groups.setdefault(spec.group_name or "", []).append(spec.name)
        elif spec.column is None and spec.group_name in REGISTERED_GROUP_TITLES:
            registered.setdefault(spec.group_name, []).append(spec.name)
    sections = []
    for group, names in sorted(groups.items()):
        if group in ("", "contactinformation"):
            title = gettext("Custom properties")
        else:
            title = group.replace("_", " ").replace("-", " ").capitalize()
        sections.append((f"custom-{group}", title, tuple(sorted(names))))
    for group, names in sorted(registered.items()):
        sections.append((f"registered-{group}", REGISTERED_GROUP_TITLES[group], tuple(names)))
    return sections


def _field_for(spec: PropertySpec) -> forms.Field:
    label = spec_label(spec)
    help_text = spec.description if spec.custom else ""
    if spec.type == PropertyType.ENUMERATION and spec.options and spec.field_type == "checkbox":
        # HubSpot's multi-select enumeration: several values joined by semicolons.
        return forms.MultipleChoiceField(
            label=label,
            choices=[(v, option_label(spec, o)) for v, o in spec.options],
            required=False,
            help_text=help_text,
            widget=forms.CheckboxSelectMultiple,
        )
    if spec.type == PropertyType.ENUMERATION and spec.options:
        choices = [("", "—")] + [
            (value, option_label(spec, label)) for value, label in spec.options
        ]
        return forms.ChoiceField(label=label, choices=choices, required=False, help_text=help_text)
    if spec.type == PropertyType.BOOL:
        choices = [("", "—"), ("true", gettext("Yes")), ("false", gettext("No"))]
        return forms.ChoiceField(label=label, choices=choices, required=False, help_text=help_text)
    attrs: dict[str, str] = {}
    if spec.name == "email":
        attrs = {"type": "email", "autocomplete": "off"}
    elif spec.type == PropertyType.DATE:
        attrs = {"type": "date"}
    elif spec.type == PropertyType.DATETIME:
        attrs = {"placeholder": "2025-01-31T14:00:00Z"}
    elif spec.type == PropertyType.NUMBER:
        attrs = {"inputmode": "decimal"}
    elif spec.field_type == "phonenumber":
        attrs = {"type": "tel"}
    widget = forms.Textarea(attrs={"rows": 3}) if spec.field_type == "textarea" else None
    field = forms.CharField(label=label, required=False, help_text=help_text, widget=widget)
    field.widget.attrs.update(attrs)
    return field


class ContactForm(forms.Form):
    """One optional field per editable property. Values go to the service as typed."""

    def __init__(self, *args, specs: dict[str, PropertySpec], **kwargs):
        super().__init__(*args, **kwargs)
        self.specs = specs
        for spec in specs.values():
            if spec.read_only or spec.name in NOT_IN_FORMS:
                continue
            self.fields[spec.name] = _field_for(spec)

    def sections(self):
        """[(key, title, [bound fields])] for the template, standard sections first."""
        result = []
        for key, title, names in (*PROPERTY_SECTIONS, *custom_sections(self.specs)):
            fields = [self[name] for name in names if name in self.fields]
            if fields:
                result.append((key, title, fields))
        return result

    def properties(self, *, only_changed: bool = False) -> dict[str, str]:
        names = self.changed_data if only_changed else list(self.fields)
        values = {}
        for name in names:
            value = self.cleaned_data.get(name) or ""
            values[name] = ";".join(value) if isinstance(value, list) else value
        return values


def initial_from_contact(contact, specs: dict[str, PropertySpec]) -> dict[str, str]:
    initial = {}
    for spec in specs.values():
        if spec.read_only or spec.name in NOT_IN_FORMS:
            continue
        if spec.column:
            initial[spec.name] = getattr(contact, spec.column) or ""
        else:
            initial[spec.name] = (contact.properties or {}).get(spec.name, "")
        if spec.type == PropertyType.ENUMERATION and spec.field_type == "checkbox":
            initial[spec.name] = [v for v in initial[spec.name].split(";") if v]
    return initial


def display_value(contact, spec: PropertySpec):
    """The value of one property for reading: a string, a datetime, or '' when blank."""
    if spec.column:
        raw = getattr(contact, spec.column)
    else:
        raw = (contact.properties or {}).get(spec.name, "")
    if raw in (None, ""):
        return ""
    if isinstance(raw, dt.datetime):
        return raw
    raw = str(raw)
    if spec.type == PropertyType.ENUMERATION and spec.options:
        labels = dict(spec.options)
        parts = raw.split(";") if spec.field_type == "checkbox" else [raw]
        return ", ".join(option_label(spec, labels.get(p, p)) for p in parts)
    if spec.type == PropertyType.BOOL:
        return gettext("Yes") if raw == "true" else gettext("No") if raw == "false" else raw
    if spec.type == PropertyType.DATETIME:
        return parse_datetime_value(raw) or raw
    if spec.type == PropertyType.DATE:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            return raw
    return raw


class SecondaryEmailForm(forms.Form):
    email = forms.CharField(
        label=_("Add an e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"placeholder": _("name@example.com")}),
        error_messages={"required": _("Enter an e-mail address to add.")},
    )


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Account name"), max_length=200)
    tier = forms.ChoiceField(label=_("Subscription tier"), choices=Tier.choices)
    # Rule E5: not empty, the public registration pages ask for this consent with a checkbox.
    registration_consent_text = forms.CharField(
        label=_("Consent text of the public registration pages"),
        max_length=CONSENT_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "When set, every public registration page shows this text with a checkbox the "
            "person must tick to register. Leave it empty to ask for no consent."
        ),
    )


class BrandForm(forms.Form):
    name = forms.CharField(label=_("Brand name"), max_length=200)


def password_rules_text() -> str:
    """What Django's validators (AUTH_PASSWORD_VALIDATORS) ask of a password, in one sentence;
    the service checks them and the view shows each failed rule on the field."""
    min_length = next(
        (
            v.min_length
            for v in password_validation.get_default_password_validators()
            if isinstance(v, password_validation.MinimumLengthValidator)
        ),
        1,
    )
    return gettext(
        "At least %(count)d characters, not a commonly used password, not only digits and not "
        "too close to the person's name or e-mail."
    ) % {"count": min_length}


class UserCreateForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        error_messages={"invalid": _("Enter a valid e-mail address.")},
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MARKETING)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = " ".join(
            [
                password_rules_text(),
                gettext("Share it with the person; they can change it later."),
            ]
        )


class UserEditForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Inactive users cannot log in and their API tokens stop working."),
    )
    password = forms.CharField(
        label=_("New password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = " ".join(
            [gettext("Leave blank to keep the current password."), password_rules_text()]
        )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Reporting script")}),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one scope.")},
    )

    def __init__(self, *args, allowed_scopes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [
            (name, f"{SCOPES[name][0]} ({name})") for name in allowed_scopes
        ]
        if not self.is_bound:
            self.initial.setdefault("scopes", list(allowed_scopes))


class ProfileForm(forms.Form):
    """The signed-in person's own preferences (Settings > Profile)."""

    language = forms.ChoiceField(label=_("Language"), required=False)
    alert_emails = forms.BooleanField(
        label=_("E-mail me about alerts"),
        required=False,
        help_text=_(
            "Alerts tell super admins when a Zoom connection needs re-authorization, syncs fail, "
            "webhooks are refused or a workflow keeps failing. They always appear under the "
            "bell; this sends one e-mail when a problem starts, in your language."
        ),
    )

    def __init__(self, *args, with_alerts: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_alerts:  # only super admins receive alerts
            del self.fields["alert_emails"]
        # Built per form, not at import: settings.LANGUAGES is read when the page is shown.
        self.fields["language"].choices = [
            ("", gettext("The browser’s language")),
            *language_choices(),
        ]
        self.fields["language"].help_text = gettext(
            "The language of every page once you are logged in. With the browser’s language, "
            "the language your browser asks for is used when the CRM has it, else English."
        )

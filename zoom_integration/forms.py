"""Forms of the Zoom settings pages. They only shape input; the services in
`services/connections.py` validate values (domains per rule S7) and the views map their
`ValidationFailed.errors` back onto these fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RecordingsSync, ZoomPlan

SECRET = {"autocomplete": "off", "spellcheck": "false"}


class S2SConnectForm(forms.Form):
    """Server-to-Server OAuth app: the account owner is the connected user (rule A2)."""

    account_id = forms.CharField(
        label=_("Account ID"), max_length=100, widget=forms.TextInput(attrs=SECRET)
    )
    client_id = forms.CharField(
        label=_("Client ID"), max_length=200, widget=forms.TextInput(attrs=SECRET)
    )
    client_secret = forms.CharField(
        label=_("Client secret"), max_length=500, widget=forms.PasswordInput(attrs=SECRET)
    )
    webhook_secret_token = forms.CharField(
        label=_("Webhook secret token"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(attrs=SECRET),
        help_text=_("From the app's Feature page in Zoom; used to verify webhooks."),
    )


class OAuthConnectForm(forms.Form):
    """User-managed OAuth app: Zoom asks the admin for consent, then sends them back."""

    client_id = forms.CharField(
        label=_("Client ID"), max_length=200, widget=forms.TextInput(attrs=SECRET)
    )
    client_secret = forms.CharField(
        label=_("Client secret"), max_length=500, widget=forms.PasswordInput(attrs=SECRET)
    )
    webhook_secret_token = forms.CharField(
        label=_("Webhook secret token"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(attrs=SECRET),
        help_text=_("From the app's Feature page in Zoom; used to verify webhooks."),
    )


class GlobalSettingsForm(forms.Form):
    """Rules S1 and S2; the domain lists (S3-S5) have their own add/remove forms."""

    sync_webinar_data = forms.BooleanField(label=_("Sync webinar data"), required=False)
    recordings_sync = forms.ChoiceField(
        label=_("Sync webinar recordings and transcripts for"),
        choices=RecordingsSync.choices,
        widget=forms.RadioSelect,
    )
    zoom_plan = forms.ChoiceField(
        label=_("Zoom plan of the account"),
        choices=ZoomPlan.choices,
        required=False,  # left out: unchanged
        help_text=_(
            "Zoom's API rate limits depend on the plan; the CRM stays under them (Pro: 30/20/10 "
            "requests a second by kind of call; Business or higher: 80/60/40)."
        ),
    )


class DomainAddForm(forms.Form):
    """One domain at a time; the service normalizes and validates it (rule S7)."""

    domain = forms.CharField(
        label=_("Domain"),
        required=False,
        max_length=300,
        widget=forms.TextInput(
            attrs={"placeholder": _("example.com"), "autocomplete": "off", "spellcheck": "false"}
        ),
    )


class ZoomUserSettingsForm(forms.Form):
    """The per-user toggles of the User settings panel (rule S6)."""

    sync_new_webinars_by_default = forms.BooleanField(
        label=_("Sync data from newly scheduled webinars by default"), required=False
    )
    sync_recordings = forms.BooleanField(
        label=_("Sync this user's webinar recordings and transcripts"), required=False
    )

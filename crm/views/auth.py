"""Log in by e-mail and password; log out by POST. Repeated failures lock the e-mail out from
that IP address for a while (django-axes); the lockout page is here."""

from datetime import timedelta
from math import ceil

from axes.helpers import get_cool_off
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..languages import language_choices
from ..models import normalize_email


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That e-mail and password do not match an active account. Check both and try again."
        ),
    }

    def clean_username(self):
        # E-mails are stored lower-cased (rule Z8); accept any case at the login form.
        return normalize_email(self.cleaned_data.get("username"))


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # The switcher's names as settings.LANGUAGES writes them, each in its own language
        # (Django's get_available_languages would translate "English" into the page's).
        return {**super().get_context_data(**kwargs), "languages": language_choices()}


# Django's LogoutView answers POST only: a link cannot log anyone out.
LogoutView = auth_views.LogoutView


def home(request):
    """`/`: the contacts list for a signed-in user, the login form for anyone else."""
    if request.user.is_authenticated:
        return redirect("crm:contact_list")
    return redirect(f"{reverse('login')}?next=/")


# Login throttling (django-axes, configured in config/settings.py) ---------------------------


def login_username(request, credentials: dict | None) -> str:
    """The e-mail a login attempt counts against, normalized (rule Z8) so that case and space
    variants of one address share one count. Both login forms post it as `username`."""
    raw = (credentials or {}).get("username") or request.POST.get("username")
    return normalize_email(raw if isinstance(raw, str) else "")[:255]


def login_locked_out(request, original_response=None, credentials=None) -> HttpResponse:
    """The answer to a login attempt of a locked-out e-mail and IP address, on our login page
    and the Django admin's: HTTP 429 with Retry-After. Every attempt during the cool-off starts
    it again (django-axes' default), so it always ends a full cool-off from now."""
    cool_off = get_cool_off(request) or timedelta(0)
    seconds = max(int(cool_off.total_seconds()), 0)
    context = {
        "minutes": max(ceil(seconds / 60), 1),
        "retry_at": timezone.now() + cool_off,
        "login_url": request.path,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response

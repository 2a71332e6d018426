"""Log in by e-mail and password; log out by POST."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

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


# Django's LogoutView answers POST only: a link cannot log anyone out.
LogoutView = auth_views.LogoutView


def home(request):
    """`/`: the contacts list for a signed-in user, the login form for anyone else."""
    if request.user.is_authenticated:
        return redirect("crm:contact_list")
    return redirect(f"{reverse('login')}?next=/")

"""Settings: account, users and roles, brands (super admins change them; others read them),
the signed-in user's API tokens, and Integrations > Connected apps."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from .. import selectors
from ..errors import Conflict, NotFound, ValidationFailed
from ..languages import browser_language
from ..models import User
from ..scopes import SCOPES, scopes_for_role
from ..services import accounts as account_services
from ..services import tokens as token_services
from .access import settings_admin_required
from .forms import (
    AccountForm,
    ApiTokenForm,
    BrandForm,
    ProfileForm,
    UserCreateForm,
    UserEditForm,
)


def _render(request, template, section, context=None, status=200):
    context = {**(context or {}), "active_nav": "settings", "settings_section": section}
    return render(request, template, context, status=status)


def _service_errors(form, exc: ValidationFailed, messages_by_field: dict[str, str]) -> None:
    for error in exc.errors or [{}]:
        name = error.get("name")
        message = messages_by_field.get(name) or error.get("message") or exc.message
        form.add_error(name if name in form.fields else None, message)


@login_required
def settings_index(request):
    return redirect("crm:settings_account")


# Profile: the signed-in person's own preferences ------------------------------------------


@login_required
def settings_profile(request):
    """Everyone's own language (rule L1) and, for super admins, whether alerts are e-mailed to
    them. Saving also sets the language cookie (or clears it
    for the browser's language), so that the login page speaks it after logging out."""
    with_alerts = request.user.can_manage_settings
    if request.method != "POST":
        form = ProfileForm(
            initial={"language": request.user.language, "alert_emails": request.user.alert_emails},
            with_alerts=with_alerts,
        )
        return _render(request, "crm/settings/profile.html", "profile", {"form": form})
    form = ProfileForm(request.POST, with_alerts=with_alerts)
    if form.is_valid():
        try:
            user = account_services.user_set_language(
                user=request.user, language=form.cleaned_data["language"]
            )
            if with_alerts:
                account_services.user_set_alert_emails(
                    user=user, enabled=form.cleaned_data["alert_emails"]
                )
        except ValidationFailed as exc:
            _service_errors(form, exc, {})
        else:
            # The next page is in the new language: so is this message.
            translation.activate(user.language or browser_language(request))
            messages.success(request, gettext("Profile saved."))
            response = redirect("crm:settings_profile")
            if user.language:
                response.set_cookie(
                    django_settings.LANGUAGE_COOKIE_NAME,
                    user.language,
                    max_age=django_settings.LANGUAGE_COOKIE_AGE,
                    path=django_settings.LANGUAGE_COOKIE_PATH,
                    domain=django_settings.LANGUAGE_COOKIE_DOMAIN,
                    secure=django_settings.LANGUAGE_COOKIE_SECURE,
                    httponly=django_settings.LANGUAGE_COOKIE_HTTPONLY,
                    samesite=django_settings.LANGUAGE_COOKIE_SAMESITE,
                )
            else:
                response.delete_cookie(
                    django_settings.LANGUAGE_COOKIE_NAME,
                    path=django_settings.LANGUAGE_COOKIE_PATH,
                    domain=django_settings.LANGUAGE_COOKIE_DOMAIN,
                    samesite=django_settings.LANGUAGE_COOKIE_SAMESITE,
                )
            return response
    return _render(request, "crm/settings/profile.html", "profile", {"form": form}, status=400)


# Account ----------------------------------------------------------------------------------


@login_required
def settings_account(request):
    account = account_services.account_get()
    form = None
    if request.user.can_manage_settings:
        form = AccountForm(
            initial={
                "name": account.name,
                "tier": account.tier,
                "registration_consent_text": account.registration_consent_text,
            }
        )
    return _render(
        request, "crm/settings/account.html", "account", {"account": account, "form": form}
    )


@settings_admin_required
@require_POST
def settings_account_update(request):
    account = account_services.account_get()
    form = AccountForm(request.POST)
    if form.is_valid():
        try:
            account_services.account_update(
                name=form.cleaned_data["name"],
                tier=form.cleaned_data["tier"],
                registration_consent_text=form.cleaned_data["registration_consent_text"],
                actor=request.user,
            )
        except ValidationFailed as exc:
            _service_errors(form, exc, {"name": gettext("The account name cannot be empty.")})
        else:
            messages.success(request, gettext("Account saved."))
            return redirect("crm:settings_account")
    return _render(
        request,
        "crm/settings/account.html",
        "account",
        {"account": account, "form": form},
        status=400,
    )


# Users ------------------------------------------------------------------------------------


@login_required
def settings_users(request):
    return _render(request, "crm/settings/users.html", "users", {"users": selectors.user_list()})


@settings_admin_required
def settings_user_create(request):
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = account_services.user_create(**form.cleaned_data, actor=request.user)
        except ValidationFailed as exc:
            # Password errors are Django's validator messages, already translated.
            _service_errors(form, exc, {"email": gettext("Enter a valid e-mail address.")})
        except Conflict:
            form.add_error("email", gettext("A user with this e-mail address already exists."))
        else:
            messages.success(
                request,
                gettext("%(email)s can now log in with the initial password.")
                % {"email": user.email},
            )
            return redirect("crm:settings_users")
    status = 400 if request.method == "POST" else 200
    return _render(request, "crm/settings/user_form.html", "users", {"form": form}, status=status)


def _get_user(user_id) -> User:
    try:
        return account_services.user_get(user_id=user_id)
    except NotFound:
        raise Http404(gettext("This user does not exist."))


def _last_admin_message() -> str:
    return gettext(
        "This is the last active super admin: make another user super admin first, "
        "so the account never locks itself out."
    )


@settings_admin_required
def settings_user_edit(request, user_id: int):
    person = _get_user(user_id)
    initial = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "role": person.role,
        "is_active": person.is_active,
    }
    form = UserEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_services.user_update(
                user=person,
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                is_active=data["is_active"],
                password=data["password"] or None,
                actor=request.user,
            )
        except ValidationFailed as exc:
            # Password errors are Django's validator messages, already translated.
            _service_errors(form, exc, {})
        except Conflict:
            form.add_error(None, _last_admin_message())
            person.refresh_from_db()
        else:
            messages.success(request, gettext("User saved."))
            return redirect("crm:settings_users")
    status = 400 if request.method == "POST" else 200
    return _render(
        request,
        "crm/settings/user_form.html",
        "users",
        {"form": form, "person": person},
        status=status,
    )


@settings_admin_required
@require_POST
def settings_user_set_active(request, user_id: int):
    person = _get_user(user_id)
    active = request.POST.get("active") == "1"
    try:
        account_services.user_update(user=person, is_active=active, actor=request.user)
    except Conflict:
        messages.error(request, _last_admin_message())
    else:
        if active:
            messages.success(request, gettext("%(email)s is active again.") % {"email": person})
        else:
            messages.success(
                request,
                gettext("%(email)s is deactivated and can no longer log in.") % {"email": person},
            )
    return redirect("crm:settings_users")


# Brands -----------------------------------------------------------------------------------


def _brands_page(request, form=None, status=200):
    if form is None and request.user.can_manage_settings:
        form = BrandForm()
    return _render(
        request,
        "crm/settings/brands.html",
        "brands",
        {"brands": selectors.brand_list(), "form": form},
        status=status,
    )


@login_required
def settings_brands(request):
    return _brands_page(request)


@settings_admin_required
@require_POST
def settings_brand_create(request):
    form = BrandForm(request.POST)
    if form.is_valid():
        try:
            brand = account_services.brand_create(
                name=form.cleaned_data["name"], actor=request.user
            )
        except ValidationFailed as exc:
            _service_errors(form, exc, {"name": gettext("A brand needs a name.")})
        except Conflict:
            form.add_error("name", gettext("A brand with this name already exists."))
        else:
            messages.success(request, gettext("Brand “%(name)s” added.") % {"name": brand.name})
            return redirect("crm:settings_brands")
    return _brands_page(request, form, status=400)


def _get_brand(brand_id):
    try:
        return selectors.brand_get(brand_id=brand_id)
    except NotFound:
        raise Http404(gettext("This brand does not exist."))


@settings_admin_required
def settings_brand_edit(request, brand_id: int):
    brand = _get_brand(brand_id)
    form = BrandForm(
        request.POST if request.method == "POST" else None, initial={"name": brand.name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            account_services.brand_update(
                brand=brand, name=form.cleaned_data["name"], actor=request.user
            )
        except ValidationFailed as exc:
            _service_errors(form, exc, {"name": gettext("A brand needs a name.")})
        except Conflict:
            form.add_error("name", gettext("A brand with this name already exists."))
        else:
            messages.success(request, gettext("Brand renamed."))
            return redirect("crm:settings_brands")
        brand.refresh_from_db()
    status = 400 if request.method == "POST" else 200
    return _render(
        request,
        "crm/settings/brand_form.html",
        "brands",
        {"form": form, "brand": brand},
        status=status,
    )


@settings_admin_required
@require_POST
def settings_brand_make_primary(request, brand_id: int):
    brand = _get_brand(brand_id)
    account_services.brand_update(brand=brand, is_primary=True, actor=request.user)
    messages.success(
        request, gettext("“%(name)s” is now the primary brand.") % {"name": brand.name}
    )
    return redirect("crm:settings_brands")


@settings_admin_required
@require_POST
def settings_brand_delete(request, brand_id: int):
    brand = _get_brand(brand_id)
    try:
        account_services.brand_delete(brand=brand, actor=request.user)
    except Conflict as exc:  # the primary brand, or a brand that still has data
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Brand “%(name)s” deleted.") % {"name": brand.name})
    return redirect("crm:settings_brands")


# API tokens -------------------------------------------------------------------------------


def _tokens_page(request, form=None, *, new_token=None, clear_token=None, status=200):
    allowed = scopes_for_role(request.user.role)
    form = form or ApiTokenForm(allowed_scopes=allowed)
    tokens = list(selectors.token_list(user=request.user))
    for token in tokens:
        token.scope_labels = [str(SCOPES[s][0]) if s in SCOPES else s for s in token.scopes]
    context = {
        "form": form,
        "tokens": tokens,
        "new_token": new_token,
        "clear_token": clear_token,
    }
    response = _render(request, "crm/settings/tokens.html", "tokens", context, status=status)
    if clear_token:
        response["Cache-Control"] = "no-store"
    return response


@login_required
def settings_tokens(request):
    return _tokens_page(request)


@login_required
@require_POST
def settings_token_create(request):
    """Every user manages their own tokens; the role limits the scopes offered."""
    allowed = scopes_for_role(request.user.role)
    form = ApiTokenForm(request.POST, allowed_scopes=allowed)
    if form.is_valid():
        try:
            token, clear = token_services.api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=request.user,
            )
        except ValidationFailed:
            form.add_error("scopes", gettext("Your role cannot hold one of these scopes."))
        else:
            # Rendered, not redirected: the clear token is shown once and never stored.
            return _tokens_page(
                request,
                ApiTokenForm(allowed_scopes=allowed),
                new_token=token,
                clear_token=clear,
            )
    return _tokens_page(request, form, status=400)


@login_required
@require_POST
def settings_token_revoke(request, token_id: int):
    token = selectors.token_list(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404(gettext("This token does not exist."))
    token_services.api_token_revoke(token=token, actor=request.user)
    messages.success(
        request, gettext("Token “%(name)s” revoked: it no longer works.") % {"name": token.name}
    )
    return redirect("crm:settings_tokens")


# Integrations -----------------------------------------------------------------------------


@login_required
def settings_integrations(request):
    return _render(request, "crm/settings/integrations.html", "integrations")

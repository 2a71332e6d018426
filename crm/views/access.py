"""Role checks for the HTML views. A refused request raises PermissionDenied, which Django
renders with templates/403.html."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def write_required(view):
    """Super admins and marketers may change contacts; viewers are read-only (rule A1)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.can_write:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def settings_admin_required(view):
    """Only super admins change users, brands and the account (rule A1)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.can_manage_settings:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import permissions

from ..models import ApiToken


class RolePermission(permissions.BasePermission):
    """Reads need `read_scope` (and every scope in `read_also_needs`, e.g. the contact read
    scope on endpoints that show contacts); writes need `write_scope` and a role that may write
    (`write_needs = "settings"`: super admins only). Scopes apply to token requests;
    session requests are bound by the role alone."""

    message = gettext_lazy("You do not have permission to do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        safe = request.method in permissions.SAFE_METHODS or getattr(view, "read_only_post", False)
        scope = getattr(view, "read_scope" if safe else "write_scope", None)
        if not safe:
            # The role first: its refusal says more than a missing scope would.
            if getattr(view, "write_needs", "write") == "settings":
                if not user.can_manage_settings:
                    self.message = _(
                        "Your role (%(role)s) cannot change settings, users or brands."
                    ) % {"role": user.get_role_display()}
                    return False
            elif not user.can_write:
                self.message = _("Your role (%(role)s) is read-only.") % {
                    "role": user.get_role_display()
                }
                return False
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is None:
            return True
        if scope and scope not in token.scopes:
            self.message = _("This token lacks the scope %(scope)s.") % {"scope": scope}
            return False
        for also in getattr(view, "read_also_needs", ()) if safe else ():
            if also not in token.scopes:
                self.message = _(
                    "This token lacks the scope %(scope)s: this endpoint needs it as well as "
                    "%(other_scope)s, because it shows contacts' data."
                ) % {"scope": also, "other_scope": scope}
                return False
        return True

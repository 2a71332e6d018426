"""API token scopes. HubSpot's names where HubSpot has one; ours otherwise.

A token may do what its scopes allow AND its owner's role allows (a viewer's token never writes).
"""

from django.utils.translation import gettext_lazy as _

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"
ACCOUNT_READ = "account.read"
ACCOUNT_WRITE = "account.write"
AUDIT_READ = "crm.audit.read"
# Scopes only a super admin's token may hold.
SUPER_ADMIN_SCOPES = (ACCOUNT_WRITE, AUDIT_READ)

# Scopes are registered here by apps (marketing events, Zoom, segments, workflows) as they
# arrive: name -> (description, needs a role that can write). Descriptions are lazy: they are
# shown in the language of the request.
SCOPES: dict[str, tuple[str, bool]] = {
    CONTACTS_READ: (_("Read contacts"), False),
    CONTACTS_WRITE: (_("Create, update and delete contacts"), True),
    SCHEMAS_READ: (_("Read contact property definitions"), False),
    SCHEMAS_WRITE: (_("Create contact property definitions"), True),
    ACCOUNT_READ: (_("Read the account, brands and users"), False),
    ACCOUNT_WRITE: (_("Change the account, brands and users (super admins)"), True),
    AUDIT_READ: (_("Read the audit log (super admins)"), False),
}


def register_scope(name: str, description: str, *, write: bool) -> None:
    """`description` is shown to people: pass it through `gettext_lazy`."""
    SCOPES[name] = (description, write)


def scopes_for_role(role: str) -> list[str]:
    """The scopes a user of this role may hold."""
    from .models import Role

    allowed = []
    for name, (_description, write) in SCOPES.items():
        if name in SUPER_ADMIN_SCOPES and role != Role.SUPER_ADMIN:
            continue
        if write and role == Role.VIEWER:
            continue
        allowed.append(name)
    return sorted(allowed)

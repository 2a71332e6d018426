"""API token scopes. HubSpot's names where HubSpot has one; ours otherwise.

A token may do what its scopes allow AND its owner's role allows (a viewer's token never writes).
"""

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"
ACCOUNT_READ = "account.read"
ACCOUNT_WRITE = "account.write"

# Scopes are registered here by apps (marketing events, Zoom, segments, workflows) as they
# arrive: name -> (description, needs a role that can write).
SCOPES: dict[str, tuple[str, bool]] = {
    CONTACTS_READ: ("Read contacts", False),
    CONTACTS_WRITE: ("Create, update and delete contacts", True),
    SCHEMAS_READ: ("Read contact property definitions", False),
    SCHEMAS_WRITE: ("Create contact property definitions", True),
    ACCOUNT_READ: ("Read the account, brands and users", False),
    ACCOUNT_WRITE: ("Change the account, brands and users (super admins)", True),
}


def register_scope(name: str, description: str, *, write: bool) -> None:
    SCOPES[name] = (description, write)


def scopes_for_role(role: str) -> list[str]:
    """The scopes a user of this role may hold."""
    from .models import Role

    allowed = []
    for name, (_description, write) in SCOPES.items():
        if name == ACCOUNT_WRITE and role != Role.SUPER_ADMIN:
            continue
        if write and role == Role.VIEWER:
            continue
        allowed.append(name)
    return sorted(allowed)

"""The CRM's application errors. API layers render them (HubSpot's error shape on /crm/v3/,
our own on /api/v1/); views show them as form errors. Never a 500 for bad input."""

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    category = "VALIDATION_ERROR"

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None, **context: Any):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.context = context


class ValidationFailed(ApplicationError):
    """Input that cannot be accepted; `errors` names each bad field."""


class NameTaken(ValidationFailed):
    """A name another object already has: a 409 in the API, a field error in forms (which
    catch it as the validation error it also is)."""

    status_code = 409
    category = "CONFLICT"


class NotFound(ApplicationError):
    status_code = 404
    category = "OBJECT_NOT_FOUND"


class PermissionRefused(ApplicationError):
    status_code = 403
    category = "MISSING_SCOPES"


class Conflict(ApplicationError):
    status_code = 409
    category = "CONFLICT"


class ContactAlreadyExists(Conflict):
    """HubSpot's 409 for a primary e-mail already in use; integrators parse the id from it."""

    def __init__(self, existing_id: int, email: str = ""):
        # Not translated: HubSpot's clients parse the id out of this exact English text (the
        # HTML views use `existing_id` and say it in the person's language).
        super().__init__(
            f"Contact already exists. Existing ID: {existing_id}", existing_id=existing_id
        )
        self.existing_id = existing_id
        self.email = email

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..services.audit import audit_channel_use_token
from ..services.tokens import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; tokens are looked up by their SHA-256."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Authorization header must be 'Bearer <token>'.")
            )
        token = api_token_authenticate(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("The access token is invalid, revoked or belongs to an inactive user.")
            )
        audit_channel_use_token(token_id=token.pk, token_name=token.name)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}

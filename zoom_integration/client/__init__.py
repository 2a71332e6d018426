"""The Zoom API client: one `requests.Session` per connection, typed errors, pagination as
generators, no retries (the tasks decide). See shared/reference/zoom-api.md."""

from .api import ZoomClient, encode_uuid, rate_label
from .errors import (
    ZoomAuthError,
    ZoomError,
    ZoomNotFound,
    ZoomPageTokenExpired,
    ZoomRateLimited,
    ZoomTransientError,
    ZoomValidationError,
)
from .oauth import OAuthApp, S2STokenSource, StaticTokenSource, TokenSet

__all__ = [
    "OAuthApp",
    "S2STokenSource",
    "StaticTokenSource",
    "TokenSet",
    "ZoomAuthError",
    "ZoomClient",
    "ZoomError",
    "ZoomNotFound",
    "ZoomPageTokenExpired",
    "ZoomRateLimited",
    "ZoomTransientError",
    "ZoomValidationError",
    "encode_uuid",
    "rate_label",
]

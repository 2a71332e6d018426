"""Zoom's webhook signature scheme (zoom-api.md §7.1), pure."""

from __future__ import annotations

import hashlib
import hmac

MAX_AGE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the secret token."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    if not secret or not timestamp or not header:
        return False
    # A signature is ASCII (`v0=` and hex); `compare_digest` raises on a str that is not, and
    # headers are anyone's to send.
    if not header.isascii() or not timestamp.isascii():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())


def timestamp_fresh(timestamp: str, now: float, *, max_age: int = MAX_AGE_SECONDS) -> bool:
    """Older than five minutes (or from the future beyond that) is a replay risk: refused.
    Only ASCII digits are a timestamp: `int()` would also take other scripts' digits, signs,
    spaces and underscores, none of which Zoom sends."""
    if not isinstance(timestamp, str) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    try:
        sent = int(timestamp)
    except ValueError:  # more digits than int() converts
        return False
    return abs(now - sent) <= max_age


def url_validation_answer(secret: str, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}

"""Domain lists of the Zoom settings (rules S3, S4, S5, S7): normalization, validation and
matching. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import gettext

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainError(ValueError):
    pass


def normalize_domain(raw: str) -> str:
    """Trimmed, lower-case, leading '@' removed, ASCII (punycode for internationalized names),
    and a valid domain name — or `DomainError` saying what is wrong (rule S7)."""
    text = (raw or "").strip().lower()
    if text.startswith("@"):
        text = text[1:].strip()
    if "@" in text:
        # Someone pasted an e-mail address: keep what follows the last '@'.
        text = text.rsplit("@", 1)[1]
    text = text.rstrip(".")
    if not text:
        raise DomainError(gettext("Enter a domain, such as example.com."))
    given = {"value": raw.strip()}
    if "://" in text or "/" in text or " " in text:
        raise DomainError(
            gettext("“%(value)s” is not a domain: enter only the name, such as example.com.")
            % given
        )
    try:
        ascii_text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainError(gettext("“%(value)s” is not a valid domain name.") % given)
    labels = ascii_text.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or len(ascii_text) > 253:
        raise DomainError(
            gettext("“%(value)s” is not a valid domain name, such as example.com.") % given
        )
    if labels[-1].isdigit():
        raise DomainError(gettext("“%(value)s” is an address, not a domain name.") % given)
    return ascii_text


def normalize_domains(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """Normalized, de-duplicated, sorted domains, and the error messages of the bad ones."""
    good: set[str] = set()
    errors: list[str] = []
    for value in values:
        if not (value or "").strip():
            continue
        try:
            good.add(normalize_domain(value))
        except DomainError as exc:
            errors.append(str(exc))
    return sorted(good), errors


def email_domain(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email:
        return ""
    domain = email.rsplit("@", 1)[1].rstrip(".")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def domain_matches(domain: str, listed: Iterable[str]) -> bool:
    """A listed domain also matches its subdomains (rule S7): `acme.com` matches
    `eu.acme.com` but not `notacme.com`."""
    domain = (domain or "").lower()
    if not domain:
        return False
    return any(domain == item or domain.endswith("." + item) for item in listed)

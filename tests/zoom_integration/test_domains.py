import pytest

from zoom_integration.domains import (
    DomainError,
    domain_matches,
    email_domain,
    normalize_domain,
    normalize_domains,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("  Example.COM  ", "example.com"),
        ("@acme.io", "acme.io"),
        (" @ Acme.io", "acme.io"),
        ("sales@acme.io", "acme.io"),
        ("eu.acme.co.uk.", "eu.acme.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),  # rule S7: punycode for internationalized names
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ],
)
def test_domains_are_normalized(raw, expected):  # rule S7
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a domain"),
        ("   ", "Enter a domain"),
        ("localhost", "not a valid domain name"),
        ("https://acme.com", "not a domain"),
        ("acme.com/path", "not a domain"),
        ("ac me.com", "not a domain"),
        ("-acme.com", "not a valid domain name"),
        ("acme..com", "not a valid domain name"),
        ("10.0.0.1", "an address"),
        ("a" * 64 + ".com", "not a valid domain name"),
    ],
)
def test_bad_domains_get_a_clear_message(raw, message):  # rule S7
    with pytest.raises(DomainError, match=message):
        normalize_domain(raw)


def test_lists_are_deduplicated_sorted_and_errors_collected():
    good, errors = normalize_domains(["B.com", "@b.com", "a.com", "", "bad domain"])
    assert good == ["a.com", "b.com"]
    assert errors == ["“bad domain” is not a domain: enter only the name, such as example.com."]


@pytest.mark.parametrize(
    ("domain", "listed", "expected"),
    [
        ("acme.com", ["acme.com"], True),
        ("eu.acme.com", ["acme.com"], True),  # subdomains match too
        ("notacme.com", ["acme.com"], False),
        ("acme.com.evil.io", ["acme.com"], False),
        ("", ["acme.com"], False),
    ],
)
def test_listed_domains_match_their_subdomains(domain, listed, expected):  # rule S7
    assert domain_matches(domain, listed) is expected


def test_email_domain():
    assert email_domain("  Ana@EU.Acme.com ") == "eu.acme.com"
    assert email_domain("no-at-sign") == ""

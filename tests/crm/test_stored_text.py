"""Sentences a worker stores and people read later (rule L1): a message id and parameters,
translated when shown; English for API payloads (rule L2); older plain strings as recorded."""

import pytest
from django.utils import translation

from crm.stored_text import decode, encode, render_english, render_stored, stored_text
from zoom_integration.presentation import outcome_text

GAVE_UP = stored_text(
    "Gave up after %(n)s attempts: %(message)s",
    n=6,
    message=stored_text("Zoom is busy: %(error)s", error="Too many requests (HTTP 429)"),
)


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Gave up after 6 attempts: Zoom is busy: Too many requests (HTTP 429)"),
        ("pt-br", "Desistiu após 6 tentativas: O Zoom está ocupado: Too many requests (HTTP 429)"),
        ("fr", "Abandon après 6 tentatives : Zoom est surchargé : Too many requests (HTTP 429)"),
    ],
)
def test_a_nested_message_is_rendered_in_the_active_language(language, expected):
    with translation.override(language):
        assert render_stored(GAVE_UP).replace("\xa0", " ") == expected
        # API payloads stay English whatever the reader's language
        assert render_english(GAVE_UP).startswith("Gave up after 6 attempts: Zoom is busy")


def test_plain_values_recorded_before_are_shown_as_they_are():
    with translation.override("fr"):
        assert (
            render_stored("Zoom answered with an error: boom")
            == "Zoom answered with an error: boom"
        )
        assert render_stored(None) == ""
        assert render_stored("") == ""


def test_a_text_column_round_trips_and_keeps_plain_text():
    value = stored_text("Zoom refused the credentials: %(reason)s", reason="Invalid Token!")
    assert decode(encode(value)) == value
    assert decode("Invalid refresh token.") == "Invalid refresh token."
    assert decode('{"msgid": broken') == '{"msgid": broken'
    assert decode('{"other": 1}') == '{"other": 1}'


def test_a_translation_that_names_an_unknown_placeholder_falls_back_to_english(monkeypatch):
    monkeypatch.setattr("crm.stored_text.gettext", lambda msgid: "Erro: %(nope)s")
    value = stored_text("Unexpected error: %(error)s", error="RuntimeError")
    assert render_stored(value) == "Unexpected error: RuntimeError"


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "skipped: No e-mail address (guests) (ana@example.com)"),
        ("pt-br", "ignorado: Sem endereço de e-mail (convidados) (ana@example.com)"),
    ],
)
def test_a_webhook_skip_names_its_reason_in_words(language, expected):
    with translation.override(language):
        assert outcome_text("skipped: no_email ana@example.com") == expected

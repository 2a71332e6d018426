"""The languages the UI speaks (rule L1), read from settings.LANGUAGES when asked."""

import copy

from django.conf import settings
from django.utils import translation


def language_codes() -> list[str]:
    """The codes a person can choose, in settings order: "en", "pt-br", "fr"."""
    return [code for code, _name in settings.LANGUAGES]


def language_choices() -> list[tuple[str, str]]:
    """(code, name) pairs, each name in its own language, as the switchers show them."""
    return list(settings.LANGUAGES)


def browser_language(request) -> str:
    """The language the browser asks for in Accept-Language, as LocaleMiddleware would choose
    it without the language cookie (which a profile saved as "the browser's language" clears)."""
    without_cookie = copy.copy(request)
    without_cookie.COOKIES = {
        name: value
        for name, value in request.COOKIES.items()
        if name != settings.LANGUAGE_COOKIE_NAME
    }
    return translation.get_language_from_request(without_cookie)

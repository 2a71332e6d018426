"""Month names as the pages write them in dates ("6 de dezembro de 2026").

Django's own catalogue writes Brazilian Portuguese months with a capital ("Dezembro"), which
Portuguese does not do inside a date. The same message ids in this project's catalogues (found
first, through LOCALE_PATHS) take precedence; they are marked here only so that `make messages`
keeps them. Nothing imports this module."""

from django.utils.translation import gettext_noop

MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)

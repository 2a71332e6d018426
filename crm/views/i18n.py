"""The JavaScript side of the languages (rule L1): Django's catalogue of the `djangojs` domain,
so that static scripts call `gettext()`, `ngettext()` and `interpolate()`."""

from django.http import Http404
from django.utils import translation
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog


@method_decorator(cache_control(max_age=3600), name="dispatch")
class LanguageCatalog(JavaScriptCatalog):
    """The catalogue of the language the URL names (`jsi18n/fr/`), whatever the request's own
    language: the answer depends on the address alone, so a browser may keep it for an hour
    and a page in another language asks for another address. A plain script from this site,
    so the Content-Security-Policy (`script-src 'self'`) needs no exception.

    Only the project's catalogue (LOCALE_PATHS) is included, not those of Django's own apps:
    the admin's JavaScript strings are not ours to ship to every page."""

    packages = ["crm"]

    def get(self, request, *args, language: str, **kwargs):
        try:
            language = translation.get_supported_language_variant(language)
        except (LookupError, ValueError):
            raise Http404
        with translation.override(language):
            return super().get(request, *args, **kwargs)

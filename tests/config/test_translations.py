"""The catalogues keep up with the code (rule L1): `makemessages`, run on a copy of the project
exactly as `make messages` runs it, must find every string the code marks already translated
in both languages, and no catalogue may hold a fuzzy entry (a guess msgmerge made that nobody
has checked). For both domains: `django` (Python and templates) and `djangojs` (static
JavaScript, served by the JavaScript catalogue).

When this fails: `make messages`, translate the new entries in locale/pt_BR and locale/fr
(terms: locale/GLOSSARY.md), remove each `#, fuzzy` once its translation is checked."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("pt_BR", "fr")
DOMAINS = ("django", "djangojs")
# Not the product's strings: tests, benchmarks, the Zoom sandbox (a fake Zoom), local state,
# vendored minified JavaScript. The same list as the Makefile's MAKEMESSAGES_IGNORE.
NOT_SCANNED = {".venv", "var", "tests", "bench", "zoom_sandbox", "screenshots", "node_modules"}
IGNORE = ["static/js/htmx.min.js"]
SHOWN = 15  # missing strings listed in a failure message, per catalogue

pytestmark = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
    reason="GNU gettext is not installed (apt-get install gettext; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """The project's locale/ folder after `makemessages` on a copy: the committed catalogues,
    merged with every string the code marks today (new ones untranslated)."""
    copy = tmp_path_factory.mktemp("project")
    for entry in ROOT.iterdir():
        if entry.name in NOT_SCANNED or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, copy / entry.name, ignore=shutil.ignore_patterns("*.mo"))
        else:
            shutil.copy2(entry, copy / entry.name)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    for domain in DOMAINS:
        command = [sys.executable, "manage.py", "makemessages", "-d", domain, "--no-obsolete"]
        command += [f"--locale={locale}" for locale in LOCALES]
        command += [f"--ignore={pattern}" for pattern in IGNORE]
        result = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
    return copy / "locale"


def _catalogue(locale_dir: Path, locale: str, domain: str) -> polib.POFile | None:
    path = locale_dir / locale / "LC_MESSAGES" / f"{domain}.po"
    return polib.pofile(str(path)) if path.exists() else None


def _label(entry: polib.POEntry) -> str:
    context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
    return f"{entry.msgid!r}{context}"


def _untranslated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return not entry.msgstr_plural or not all(entry.msgstr_plural.values())
    return not entry.msgstr


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_the_code_marks_is_translated(extracted, locale, domain):
    catalogue = _catalogue(extracted, locale, domain)
    if catalogue is None:  # the code marks no string of this domain
        return
    missing = [_label(entry) for entry in catalogue if not entry.obsolete and _untranslated(entry)]
    assert not missing, (
        f"{len(missing)} strings have no {locale} translation in {domain}.po "
        f"(run `make messages` and translate them): " + "; ".join(missing[:SHOWN])
    )


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_no_catalogue_holds_a_fuzzy_entry(extracted, locale, domain):
    # Both the committed catalogue and the one makemessages makes of it: msgmerge marks a
    # string changed in the code fuzzy, with the old translation as a guess.
    committed = _catalogue(ROOT / "locale", locale, domain)
    for catalogue in (committed, _catalogue(extracted, locale, domain)):
        if catalogue is None:
            continue
        fuzzy = [_label(entry) for entry in catalogue.fuzzy_entries()]
        assert not fuzzy, (
            f"{len(fuzzy)} fuzzy entries in {catalogue.fpath}: check each translation and "
            "remove its `#, fuzzy` line: " + "; ".join(fuzzy[:SHOWN])
        )

"""The translations are compiled, not committed (rule L1): `make install` (so `make demo` and
`make test`) rebuilds a .mo whenever its .po changed, CI installs GNU gettext for it, and the
Docker image compiles its own."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRENCH = "locale/fr/LC_MESSAGES/django.po"


def _make_dry_run(*targets: str, changed: str) -> str:
    """What `make` would run for `targets` if `changed` had just been edited (-W)."""
    result = subprocess.run(
        ["make", "--dry-run", f"--what-if={changed}", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["install", "test", "demo", "compilemessages"])
def test_a_changed_catalogue_is_compiled_before_the_demo_and_the_tests(target):
    commands = _make_dry_run(target, changed=FRENCH)
    assert "msgfmt --check-format -o locale/fr/LC_MESSAGES/django.mo " + FRENCH in commands


def test_compiled_catalogues_are_not_committed():
    assert "*.mo" in (ROOT / ".gitignore").read_text().splitlines()
    assert "**/*.mo" in (ROOT / ".dockerignore").read_text().splitlines()
    if shutil.which("git") and (ROOT / ".git").exists():
        tracked = subprocess.run(
            ["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert tracked.stdout == ""


def test_ci_installs_gettext_when_msgfmt_is_missing():
    script = (ROOT / ".ci/run").read_text()
    assert "command -v msgfmt" in script
    assert "apt-get install -y -qq gettext" in script
    assert script.index("apt-get install -y -qq gettext") < script.index("make install")


def test_the_image_compiles_the_translations():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "install -y --no-install-recommends gettext" in dockerfile
    assert "manage.py compilemessages" in dockerfile
    assert dockerfile.index("COPY . .") < dockerfile.index("manage.py compilemessages")


def test_without_msgfmt_polib_writes_a_catalogue_gettext_reads(tmp_path):
    """A machine with only Python and make: the Makefile's fallback compiles with polib."""
    import gettext

    import polib

    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    polib.pofile("locale/fr/LC_MESSAGES/django.po").save_as_mofile(str(target / "django.mo"))
    french = gettext.translation("django", localedir=str(tmp_path), languages=["fr"])
    assert french.gettext("Global settings") == "Paramètres globaux"  # rule L1's own example
    makefile = open("Makefile").read()
    assert "polib.pofile(sys.argv[1]).save_as_mofile(sys.argv[2])" in makefile

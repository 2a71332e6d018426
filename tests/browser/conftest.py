"""Every browser test also checks that the pages it visits break no rule of the
Content-Security-Policy (config/settings.py): a blocked script or style fails the test."""

import pytest

from tests.support.csp import CSPWatch


@pytest.fixture(autouse=True)
def csp_violations(request):
    if "page" not in request.fixturenames:
        yield None
        return
    watch = CSPWatch(request.getfixturevalue("page"))
    yield watch.violations
    assert not watch.violations, "Content-Security-Policy violations:\n" + "\n".join(
        watch.violations
    )

"""Collects Content-Security-Policy violations in a Playwright page: Chromium's console reports
("Refused to … because it violates the following Content Security Policy directive …") and the
page's `securitypolicyviolation` events, across navigations."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page

_LISTEN = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  const on = e.target && e.target.nodeType === 1 ? ` on ${e.target.outerHTML.slice(0, 400)}` : "";
  window.__reportCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}${on}`
  );
});
"""


class CSPWatch:
    def __init__(self, page: Page) -> None:
        self.violations: list[str] = []
        page.on("console", self._console)
        page.expose_function("__reportCspViolation", self._event)
        page.add_init_script(_LISTEN)

    def _event(self, description: str) -> None:
        self.violations.append(f"event: {description}")

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")

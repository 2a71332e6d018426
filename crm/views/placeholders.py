"""Sections that later apps build. Each renders a friendly "coming soon" empty state; the app
that builds the section replaces its link in templates/base.html."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

SECTIONS = {
    "workflows": (
        _("Workflows"),
        _(
            "Automate work such as registering contacts for a Zoom webinar. Until then, "
            "manage contacts by hand from the Contacts page."
        ),
    ),
}


def _placeholder(section: str):
    @login_required
    def view(request):
        title, text = SECTIONS[section]
        return render(
            request,
            "crm/coming_soon.html",
            {"title": title, "text": text, "active_nav": section},
        )

    view.__name__ = f"{section}_placeholder"
    return view


workflows = _placeholder("workflows")

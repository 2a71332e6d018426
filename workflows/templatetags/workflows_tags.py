"""The enrollment forms that pages of lower apps borrow: `{% enroll_form contact %}` on the
contact page and `{% segment_enroll_form segment %}` on the segment page. Templates may load
this library; the Python of crm and segments never imports workflows (layer contract)."""

from __future__ import annotations

from django import template

from .. import services
from ..models import Workflow

register = template.Library()


def _form_context(context, **extra) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    show = bool(user and user.is_authenticated and user.can_write) and services.workflows_allowed()
    workflows = (
        list(Workflow.objects.filter(enabled=True).order_by("name").only("pk", "name"))
        if show
        else []
    )
    return {
        "show": show,
        "workflows": workflows,
        "csrf_token": context.get("csrf_token"),
        **extra,
    }


@register.inclusion_tag("workflows/_enroll_contact.html", takes_context=True)
def enroll_form(context, contact):
    """Nothing for viewers, below the Professional tier, or on a deleted contact."""
    if getattr(contact, "is_archived", False):
        return {"show": False}
    return _form_context(context, contact=contact)


@register.inclusion_tag("workflows/_enroll_segment.html", takes_context=True)
def segment_enroll_form(context, segment):
    return _form_context(context, segment=segment)

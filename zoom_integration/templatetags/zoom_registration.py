"""The contact page's "personal registration links" (rules E3, E5): for the soonest webinars
with a public page, the link that pre-fills this contact's registration, to copy into an
e-mail. Shown to people who may change contacts; one query."""

from django import template

from ..registration.personal import personal_token, personal_url, upcoming_public_webinars

register = template.Library()


@register.inclusion_tag("zoom_integration/_personal_links.html", takes_context=True)
def personal_registration_links(context, contact):
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not getattr(user, "can_write", False):
        return {"links": []}
    token = personal_token(contact)
    return {
        "links": [
            {
                "webinar": webinar,
                "url": request.build_absolute_uri(personal_url(webinar, contact, token)),
            }
            for webinar in upcoming_public_webinars()
        ]
    }

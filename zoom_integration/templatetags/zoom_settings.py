"""Template tags for pages outside this app that show Zoom state: Settings > Integrations >
Connected apps lists each brand's connection (the crm app cannot import this one)."""

from django import template

from crm.models import Brand

from .. import selectors

register = template.Library()


@register.simple_tag
def zoom_brand_connections() -> list[Brand]:
    """Every brand, primary first, with its Zoom connection or None as `brand.zoom`."""
    return selectors.brands_with_connections()

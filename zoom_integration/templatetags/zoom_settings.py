"""Template tags for pages outside this app that show Zoom state: Settings > Integrations >
Connected apps lists each brand's connection (the crm app cannot import this one)."""

from django import template

from crm.models import Brand

from ..models import ZoomConnection

register = template.Library()


@register.simple_tag
def zoom_brand_connections() -> list[Brand]:
    """Every brand, primary first, with its Zoom connection or None as `brand.zoom`."""
    brands = list(Brand.objects.order_by("-is_primary", "name"))
    connections = {c.brand_id: c for c in ZoomConnection.objects.all()}
    for brand in brands:
        brand.zoom = connections.get(brand.pk)
    return brands

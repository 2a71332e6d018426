"""Reads. Query shape is fixed per page: related rows come with select/prefetch_related."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from .errors import NotFound
from .models import ApiToken, Brand, Contact, Notification, SecondaryEmail, TimelineEntry, User


def contact_list(
    *, search: str = "", include_archived: bool = False, archived_only: bool = False
) -> QuerySet[Contact]:
    qs = Contact.objects.all()
    if archived_only:
        qs = qs.filter(archived_at__isnull=False)
    elif not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    search = (search or "").strip()
    if search:
        condition = Q()
        for term in search.split():
            condition &= (
                Q(email__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(company__icontains=term)
                | Q(secondary_emails__email__icontains=term.lower())
            )
        # The secondary-email join may repeat a contact: filter by ids instead of DISTINCT.
        qs = qs.filter(pk__in=Contact.objects.filter(condition).values("pk"))
    return qs.prefetch_related(
        Prefetch("secondary_emails", queryset=SecondaryEmail.objects.order_by("email"))
    )


def contact_get(*, contact_id, include_archived: bool = True) -> Contact:
    qs = contact_list(include_archived=include_archived)
    try:
        contact = qs.filter(pk=int(contact_id)).first()
    except (TypeError, ValueError):
        contact = None
    if contact is None:
        raise NotFound(_("Contact %(id)s does not exist.") % {"id": contact_id})
    return contact


def timeline_for_contact(*, contact: Contact) -> QuerySet[TimelineEntry]:
    """The contact's timeline, newest first: stored entries and those its participations
    imply (`TimelineEntry`)."""
    return TimelineEntry.objects.filter(contact=contact).select_related("actor")


def brand_list() -> QuerySet[Brand]:
    return Brand.objects.all()


def brand_get(*, brand_id) -> Brand:
    brand = Brand.objects.filter(pk=brand_id).first()
    if brand is None:
        raise NotFound(_("Brand %(id)s does not exist.") % {"id": brand_id})
    return brand


def user_list() -> QuerySet[User]:
    return User.objects.all()


def token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def notification_unread_count(*, user: User) -> int:
    """The bell's count: one query on the partial index of unread notifications."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """`user`'s notifications, newest first, each with its alert (one query per page)."""
    rows = Notification.objects.filter(recipient=user).select_related("alert")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")

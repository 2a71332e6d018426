from django.utils.functional import cached_property


def roles(request):
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "can_write": authenticated and user.can_write,
        "can_manage_settings": authenticated and user.can_manage_settings,
    }


class _Bell:
    """The bell's unread count, counted when a template first reads it (the top bar of a full
    page), never for fragments that don't show it: one indexed query (notification_unread_idx)."""

    def __init__(self, user):
        self._user = user

    @cached_property
    def unread(self) -> int:
        from .selectors import notification_unread_count

        return notification_unread_count(user=self._user)


def notifications(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {"bell": _Bell(user)}

def roles(request):
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "can_write": authenticated and user.can_write,
        "can_manage_settings": authenticated and user.can_manage_settings,
    }

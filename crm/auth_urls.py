"""Top-level (not namespaced) `login` and `logout`, included at "accounts/" in config/urls.py."""

from django.urls import path

from .views import auth

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
]

from django.urls import path

from . import views

app_name = "zoom_integration"
urlpatterns = [
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
]

from django.urls import path

from . import views

# Unprefixed and outside i18n patterns: probes and scrapers call fixed paths.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]

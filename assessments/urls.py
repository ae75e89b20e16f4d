from django.urls import path

from .views import health, pages

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("", pages.home, name="home"),
    path("queue/", pages.queue, name="queue"),
    path("instruments/", pages.instrument_list, name="instrument-list"),
]

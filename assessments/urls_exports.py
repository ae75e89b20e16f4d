"""Export routes; `assessments/urls.py` includes them."""

from django.urls import path

from .views import exports

urlpatterns = [
    path("p/<slug:slug>/export/", exports.project_export, name="project-export"),
    path(
        "p/<slug:slug>/export/download",
        exports.project_export_download,
        name="project-export-download",
    ),
]

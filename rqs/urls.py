from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("assessments.api.urls")),
    # Institutional sign-in: OpenID Connect
    # Institutional sign-in: SAML 2.0
    # Two-factor for local accounts
    path("", include("assessments.urls")),
]

handler403 = "assessments.views.errors.permission_denied"
handler404 = "assessments.views.errors.page_not_found"
handler500 = "assessments.views.errors.server_error"

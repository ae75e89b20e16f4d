from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from assessments.views import signin_oidc, two_factor

urlpatterns = [
    path("admin/", admin.site.urls),
    # Two-factor for local accounts: the same login page and fields, ahead of
    # Django's own so that an account with an authenticator app gets the code
    # step before it is logged in.
    path("accounts/login/", two_factor.login_view, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("assessments.api.urls")),
    # Institutional sign-in: OpenID Connect
    *(
        [
            # Also named "logout", after accounts/: reverse() takes the last
            # pattern of a name, so the site's Log out button (base.html) posts
            # here and a person who signed in at the provider is signed out
            # there too; local users are sent to the login page as before.
            path("oidc/logout/", signin_oidc.SignOut.as_view(), name="logout"),
            path("oidc/", include("mozilla_django_oidc.urls")),
        ]
        if settings.OIDC_ENABLED
        else []
    ),
    # Institutional sign-in: SAML 2.0
    # djangosaml2's routes (login, acs, logout, ls, metadata) with our views:
    # the module says why they are not djangosaml2.urls as is.
    *(
        [path("saml2/", include("assessments.views.signin_saml"))]
        if settings.SAML_ENABLED
        else []
    ),
    # Two-factor for local accounts
    path("accounts/two-factor/", include("assessments.urls_two_factor")),
    path("", include("assessments.urls")),
]

handler403 = "assessments.views.errors.permission_denied"
handler404 = "assessments.views.errors.page_not_found"
handler500 = "assessments.views.errors.server_error"

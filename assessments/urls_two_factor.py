"""Account, Two-factor sign-in, and the login's code step (accounts/two-factor/)."""

from django.urls import path

from .views import two_factor

urlpatterns = [
    path("", two_factor.home, name="two-factor"),
    path("set-up/", two_factor.setup, name="two-factor-setup"),
    path("recovery-codes/", two_factor.recovery, name="two-factor-recovery"),
    path("switch-off/", two_factor.switch_off, name="two-factor-disable"),
    path("code/", two_factor.verify, name="two-factor-verify"),
]

"""Accounts that sign in through an institution's identity provider.

A person is matched by what the provider promises never to change (OIDC's
``sub`` within its issuer, SAML's persistent NameID or a configured
attribute), never by e-mail: an address can be reassigned, and an SSO login
that joined a local account by e-mail would hand that account to whoever
holds the address at the provider.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ExternalIdentity(models.Model):
    class Protocol(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML 2.0"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="external_identities",
    )
    protocol = models.CharField(max_length=4, choices=Protocol.choices)
    # OIDC: the issuer URL; SAML: the IdP's entity ID.
    issuer = models.CharField(max_length=500)
    # OIDC: `sub`; SAML: the persistent NameID or the configured attribute.
    subject = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("institutional sign-in")
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "issuer", "subject"],
                name="one_account_per_identity",
            )
        ]

    def __str__(self) -> str:
        return gettext("%(protocol)s %(subject)s at %(issuer)s") % {
            "protocol": self.get_protocol_display(),
            "subject": self.subject,
            "issuer": self.issuer,
        }

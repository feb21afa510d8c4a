from typing import Any

from django.conf import settings
from django.db import models
from django.dispatch import Signal

from billing.ids import public_id_field
from billing.json_fields import ObjectJSONField

# Sent with `workspace_ids` when a queryset update() changed workspaces, which sends no
# post_save: whatever is kept of a workspace (billing.auth_cache) is dropped either way.
workspaces_updated = Signal()


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def update(self, **kwargs: Any) -> int:
        # Listed first: the filter may name what the update changes (the test clock moves
        # only from where it was left), and would match nothing after it.
        workspace_ids = list(self.values_list("pk", flat=True))
        updated = super().update(**kwargs)
        if updated:
            workspaces_updated.send(sender=self.model, workspace_ids=workspace_ids)
        return updated


class Workspace(models.Model):
    """A company using the server (Piriod's "account", `acc_…`)."""

    id = public_id_field("acc")
    name = models.CharField(max_length=100)
    country = models.ForeignKey("billing.Country", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    timezone = models.CharField(max_length=64, default="UTC")
    tax_id = models.CharField(max_length=32, blank=True)
    # The issuer as documents show it (Chile's Emisor). The legal name (razón social) is
    # printed where set, else `name`.
    legal_name = models.CharField(max_length=100, blank=True)
    # The giro: what the business does, as registered with the SII.
    activity_description = models.CharField(max_length=80, blank=True)
    # The SII's código de actividad económica (Acteco), six digits.
    activity_code = models.PositiveIntegerField(null=True, blank=True)
    # The head office (casa matriz).
    address = models.CharField(max_length=128, blank=True)
    comuna = models.ForeignKey(
        "billing.Comuna", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    city = models.CharField(max_length=40, blank=True)
    # The SII office the issuer answers to, printed under the folio ("S.I.I. - Providencia").
    sii_office = models.CharField(max_length=40, blank=True)
    # The resolution that authorizes the issuer to issue DTEs (0 in certification).
    sii_resolution_number = models.PositiveIntegerField(null=True, blank=True)
    sii_resolution_date = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    # The merchant's logo, shown on the hosted checkout pages; an image the merchant hosts.
    logo_url = models.URLField(max_length=500, blank=True)
    # Settings of other countries' tax agencies.
    tax_settings = ObjectJSONField()
    # Subscription cycle invoices stay drafts for a person to review and finalize.
    review_cycle_invoices = models.BooleanField(default=False)
    # Test mode's clock (billing.clock): null follows the real clock; once set it stands
    # still until advanced, so tests and users run months of cycles in one call.
    test_clock_at = models.DateTimeField(null=True, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="billing.Membership", related_name="workspaces"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace_id}"


class ApiToken(models.Model):
    """A user's API key. Only its SHA-256 is stored; the key is shown once, at issue."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so staff can tell tokens apart without seeing them.
    key_prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_one_active_per_user",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({'revoked' if self.revoked_at else 'active'})"


class JwtSession(models.Model):
    """The JWTs minted from one sign-in: a family of refresh tokens, each used once.

    Access and refresh tokens carry the session's id (`sid`). The session ends when it is
    revoked, or when the API token it was minted from is revoked; a refresh token used a
    second time (stolen and replayed, or replayed by the thief's victim) revokes it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jwt_sessions"
    )
    # Null when minted from a username and password.
    api_token = models.ForeignKey(
        ApiToken, on_delete=models.CASCADE, null=True, blank=True, related_name="jwt_sessions"
    )
    # The jti of the only refresh token that may still be exchanged.
    refresh_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    refreshed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id} ({'revoked' if self.revoked_at else 'open'})"

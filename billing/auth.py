"""Authentication: `Authorization: Token <key>` (API keys) and `Bearer <jwt>`."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from billing.models import ApiToken
from billing.services.workspaces import hash_token_key


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: use `Authorization: Token <key>`."
            )
        key = parts[1].decode(errors="replace")
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class JwtAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication; a malformed header is a 401, never a 500."""

    def authenticate(self, request: Request) -> Any:
        try:
            return super().authenticate(request)
        except (UnicodeDecodeError, ValueError) as exc:
            raise exceptions.AuthenticationFailed("Invalid bearer token.") from exc

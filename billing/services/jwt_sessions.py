"""JWT sessions: pairs minted from an API token or a password, refreshed by rotation.

Each refresh token is single use: exchanging it returns a new pair and makes it stale.
A stale one presented again means two parties hold the family, so the whole session is
revoked. Revoking the API token a session was minted from ends the session too.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from rest_framework_simplejwt.tokens import RefreshToken

from billing.models import ApiToken, JwtSession

SESSION_CLAIM = "sid"


@dataclass(frozen=True)
class JwtPair:
    access: str
    refresh: str


class SessionEnded(Exception):
    """The refresh token's session is revoked, or the token was already used."""


def _pair(session: JwtSession, user: User) -> JwtPair:
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = session.pk  # copied into the access token
    session.refresh_jti = str(refresh["jti"])
    return JwtPair(access=str(refresh.access_token), refresh=str(refresh))


@transaction.atomic
def jwt_session_start(*, user: User, api_token: ApiToken | None, now: datetime) -> JwtPair:
    session = JwtSession.objects.create(
        user=user, api_token=api_token, refresh_jti="", created_at=now
    )
    pair = _pair(session, user)
    session.save(update_fields=["refresh_jti"])
    return pair


def jwt_session_refresh(*, refresh: RefreshToken, now: datetime) -> JwtPair:
    """A new pair for a valid refresh token; raise SessionEnded otherwise."""
    with transaction.atomic():
        session = (
            _open_sessions()
            .select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=refresh.get(SESSION_CLAIM))
            .first()
        )
        if session is not None and session.refresh_jti == refresh.get("jti"):
            pair = _pair(session, session.user)
            session.refreshed_at = now
            session.save(update_fields=["refresh_jti", "refreshed_at"])
            return pair
        if session is not None:  # a used refresh token, presented again
            session.revoked_at = now
            session.save(update_fields=["revoked_at"])
    # Raised after the commit, so the revocation stays.
    raise SessionEnded


def jwt_session_is_open(*, session_id: int | None) -> bool:
    return session_id is not None and _open_sessions().filter(pk=session_id).exists()


def _open_sessions() -> QuerySet[JwtSession]:
    return JwtSession.objects.filter(revoked_at__isnull=True, user__is_active=True).filter(
        Q(api_token__isnull=True) | Q(api_token__revoked_at__isnull=True)
    )

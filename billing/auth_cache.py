"""Who an API key belongs to and which workspaces it may act in, remembered for a few
seconds (API_KEY_CACHE_SECONDS) so a read does not query for them on every request.

Only reads use it (billing.auth, billing.tenancy): a write always reads the token, the
user and the workspace from the database. An entry is forgotten the moment what it holds
changes: the key is revoked (`api_keys_forget` where tokens are updated in bulk, a signal
on any saved or deleted token), the user is saved (deactivated), a membership comes or
goes, or a workspace is saved. It is forgotten again once the change commits, so a read
that ran meanwhile cannot leave the old state behind.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from billing.models import ApiToken, Membership, Workspace


@dataclass
class CachedCaller:
    user: Any
    token: ApiToken
    # The workspaces the user was found a member of, by id.
    workspaces: dict[str, Workspace] = field(default_factory=dict)


# The user of each API key this process authenticated: a key never changes hands, so this
# needs no forgetting (revoking the key is read elsewhere); it only lets a read count its
# request budget, which is per user, in the round trip that reads the caller.
_KEY_USERS: dict[str, Any] = {}
_KEY_USERS_MAX = 10_000


def key_user(key_hash: str) -> Any:
    return _KEY_USERS.get(key_hash)


def key_user_remember(key_hash: str, user_pk: Any) -> None:
    if len(_KEY_USERS) >= _KEY_USERS_MAX:
        _KEY_USERS.clear()
    _KEY_USERS[key_hash] = user_pk


def caller_cache_key(key_hash: str) -> str:
    """The cache key of an API key's entry (billing.auth reads it with other keys)."""
    return f"api-key:{key_hash}"


def caller_remember(caller: CachedCaller) -> None:
    seconds = settings.API_KEY_CACHE_SECONDS
    if seconds > 0:
        cache.set(caller_cache_key(caller.token.key_hash), caller, timeout=seconds)


def api_keys_forget(key_hashes: Iterable[str]) -> None:
    """Drop the entries of these keys now and again when the transaction commits."""
    keys = [caller_cache_key(key_hash) for key_hash in key_hashes]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def api_keys_forget_for_users(user_ids: Iterable[Any]) -> None:
    """Drop the entries of every active key of these users."""
    hashes = ApiToken.objects.filter(user_id__in=list(user_ids), revoked_at__isnull=True)
    api_keys_forget(hashes.values_list("key_hash", flat=True))


def _token_changed(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    api_keys_forget([instance.key_hash])


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    api_keys_forget_for_users([instance.pk])


def _membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    api_keys_forget_for_users([instance.user_id])


def _workspace_changed(sender: Any, instance: Workspace, **kwargs: Any) -> None:
    members = Membership.objects.filter(workspace_id=instance.pk).values_list("user_id", flat=True)
    api_keys_forget_for_users(members)


for _sender, _receiver in (
    (ApiToken, _token_changed),
    (get_user_model(), _user_changed),
    (Membership, _membership_changed),
    (Workspace, _workspace_changed),
):
    post_save.connect(_receiver, sender=_sender, dispatch_uid=f"auth_cache.{_receiver.__name__}")
    post_delete.connect(
        _receiver, sender=_sender, dispatch_uid=f"auth_cache.{_receiver.__name__}.delete"
    )

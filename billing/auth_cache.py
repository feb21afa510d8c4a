"""Who an API key belongs to and which workspaces it may act in, kept by each process for
a few seconds (API_KEY_CACHE_SECONDS) so a read does not query for them on every request.

Reads use it (billing.auth, billing.tenancy), and the writes of a view that changes
none of what the caller is (`takes_caller_from_cache`: usage events); any other write
reads the token, the user and the workspace from the database. A process keeps what it
read under a stamp, a number the shared cache holds at the key's `caller_cache_key` for
those seconds; a request fetches the stamp in the round trip to the cache it makes
anyway (billing.auth), and uses what the process keeps only when it was read under the
stamp the cache holds now. The
stamp is taken (or set) before the database is read, and deleted the moment what it
covers changes: the key is revoked (`api_keys_forget` where tokens are updated in bulk, a
signal on any saved or deleted token), the user is saved (deactivated), a membership
comes or goes, or a workspace is saved or updated in bulk (a test clock moved: its time is
read from the workspace kept here). It is deleted again once the change commits, so
whatever a read found before the commit is never used after it: every process reads the
database again on its next request with the key.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from billing.models import ApiToken, Membership, Workspace
from billing.models.workspaces import workspaces_updated


@dataclass
class CachedCaller:
    """What a read of an API key found. Every read of the process that holds the same
    stamp shares these objects, and reads never change them."""

    user: Any
    token: ApiToken
    stamp: int
    # The workspaces the user was found a member of, by id.
    workspaces: dict[str, Workspace] = field(default_factory=dict)


# By key hash. Once the stamp has changed, an entry still says whose the key is (a key
# never changes hands), which lets a read count its request budget, per user, in the
# round trip that fetches the stamp.
_CALLERS: dict[str, CachedCaller] = {}
_CALLERS_MAX = 10_000
_stamps = random.SystemRandom()


def caller_cache_key(key_hash: str) -> str:
    """The cache key of an API key's stamp (billing.auth reads it with other keys)."""
    return f"api-key:{key_hash}"


def new_stamp() -> int:
    """A stamp no process has used: what the cache holds for a key until it changes."""
    return _stamps.getrandbits(62)


# By key hash, the pk of its user as a write found it (a write keeps nothing else).
_KEY_USERS: dict[str, Any] = {}


def key_user(key_hash: str) -> Any:
    """The pk of the key's user, when this process has read the key before."""
    caller = _CALLERS.get(key_hash)
    return _KEY_USERS.get(key_hash) if caller is None else caller.user.pk


def key_user_remember(key_hash: str, user_pk: Any) -> None:
    """Note whose the key is, found by a write, so the next request with it can count its
    budget in authentication's round trip to the cache."""
    if len(_KEY_USERS) >= _CALLERS_MAX:
        _KEY_USERS.clear()
    _KEY_USERS[key_hash] = user_pk


def caller_kept(key_hash: str, stamp: Any) -> CachedCaller | None:
    """What this process read of the key under `stamp`, the stamp the cache holds now."""
    caller = _CALLERS.get(key_hash)
    return caller if caller is not None and caller.stamp == stamp else None


def caller_keep(*, user: Any, token: ApiToken, stamp: int) -> CachedCaller:
    """Keep what a read found of the key while the cache held `stamp`."""
    if len(_CALLERS) >= _CALLERS_MAX:
        _CALLERS.clear()
    caller = _CALLERS[token.key_hash] = CachedCaller(user=user, token=token, stamp=stamp)
    return caller


def caller_drop(key_hash: str) -> None:
    """Forget a key that no longer authenticates, in this process."""
    _CALLERS.pop(key_hash, None)


def api_keys_forget(key_hashes: Iterable[str]) -> None:
    """Delete these keys' stamps now and again when the transaction commits, so every
    process reads them from the database on its next request."""
    keys = [caller_cache_key(key_hash) for key_hash in key_hashes]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def api_keys_forget_for_users(user_ids: Iterable[Any]) -> None:
    """Forget every active key of these users."""
    hashes = ApiToken.objects.filter(user_id__in=list(user_ids), revoked_at__isnull=True)
    api_keys_forget(hashes.values_list("key_hash", flat=True))


def _token_changed(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    api_keys_forget([instance.key_hash])


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    api_keys_forget_for_users([instance.pk])


def _membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    api_keys_forget_for_users([instance.user_id])


def _workspace_changed(sender: Any, instance: Workspace, **kwargs: Any) -> None:
    _workspaces_forget([instance.pk])


def _workspaces_updated(sender: Any, workspace_ids: list[str], **kwargs: Any) -> None:
    _workspaces_forget(workspace_ids)


def _workspaces_forget(workspace_ids: list[str]) -> None:
    """Forget every active key of the workspaces' members, found in one query."""
    keys = ApiToken.objects.filter(
        user__memberships__workspace_id__in=workspace_ids, revoked_at__isnull=True
    )
    api_keys_forget(keys.values_list("key_hash", flat=True).distinct())


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
workspaces_updated.connect(
    _workspaces_updated, sender=Workspace, dispatch_uid="auth_cache._workspaces_updated"
)

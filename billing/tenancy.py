"""Which workspace and mode a call acts in: `x-simple-workspace` and `x-piriod-test-mode`."""

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from billing.auth_cache import CachedCaller
from billing.models import Workspace

WORKSPACE_HEADER = "x-simple-workspace"
TEST_MODE_HEADER = "x-piriod-test-mode"


def header_meta_key(header: str) -> str:
    """The key of `header` in request.META, which `request.headers` reads it from: that
    mapping is built of every header on first use, where a read needs one or two."""
    return "HTTP_" + header.upper().replace("-", "_")


WORKSPACE_META_KEY = header_meta_key(WORKSPACE_HEADER)
_TEST_MODE_META_KEY = header_meta_key(TEST_MODE_HEADER)


class WorkspaceRequired(exceptions.APIException):
    status_code = 400
    default_detail = f"The {WORKSPACE_HEADER} header is required."
    default_code = "workspace_required"


class InvalidTestMode(exceptions.APIException):
    status_code = 400
    default_detail = f"The {TEST_MODE_HEADER} header must be true or false."
    default_code = "test_mode_invalid"


class WorkspaceForbidden(exceptions.PermissionDenied):
    default_detail = "You are not a member of this workspace."
    default_code = "workspace_forbidden"


def parse_test_mode(raw: str | None) -> bool:
    value = (raw or "false").strip().lower()
    if value not in ("true", "false"):
        raise InvalidTestMode()
    return value == "true"


class IsWorkspaceMember(permissions.BasePermission):
    """Authenticated, and a member of the workspace the call names.

    Sets `request.workspace` and `request.test_mode`, which every scoped query reads.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        workspace_id = request.META.get(WORKSPACE_META_KEY, "").strip()
        if not workspace_id:
            raise WorkspaceRequired()
        test_mode = parse_test_mode(request.META.get(_TEST_MODE_META_KEY))
        caller: CachedCaller | None = getattr(request, "cached_caller", None)
        workspace = caller.workspaces.get(workspace_id) if caller else None
        if workspace is None:
            workspace = (
                Workspace.objects.filter(id=workspace_id, memberships__user=request.user).first()
                if "\x00" not in workspace_id  # names no workspace, and PostgreSQL refuses it
                else None
            )
            if workspace is None:
                raise WorkspaceForbidden()
            if caller is not None:
                caller.workspaces[workspace_id] = workspace
        request.workspace = workspace  # type: ignore[attr-defined]
        request.test_mode = test_mode  # type: ignore[attr-defined]
        return True

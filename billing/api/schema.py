"""OpenAPI: the tenant headers and Idempotency-Key on every operation that takes them."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from billing.tenancy import TEST_MODE_HEADER, WORKSPACE_HEADER, IsWorkspaceMember


class AutoSchema(SpectacularAutoSchema):
    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        if any(isinstance(p, IsWorkspaceMember) for p in self.view.get_permissions()):
            parameters += [
                build_parameter_type(
                    name=WORKSPACE_HEADER,
                    schema={"type": "string", "pattern": "^acc_[0-9A-Z]{26}$"},
                    location=OpenApiParameter.HEADER,
                    required=True,
                    description="The workspace (`acc_…`) the call acts in.",
                ),
                build_parameter_type(
                    name=TEST_MODE_HEADER,
                    schema={"type": "string", "enum": ["true", "false"]},
                    location=OpenApiParameter.HEADER,
                    description="`true` acts on test-mode data. Defaults to `false`.",
                ),
            ]
            if self.method == "POST":
                parameters.append(
                    build_parameter_type(
                        name="Idempotency-Key",
                        schema={"type": "string", "minLength": 1, "maxLength": 255},
                        location=OpenApiParameter.HEADER,
                        description=(
                            "Replays the first response for 24 hours when the same key is "
                            "sent again with the same body."
                        ),
                    )
                )
        return parameters


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "billing.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "billing.auth.JwtAuthentication"
    name = "Jwt"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


__all__ = ["ApiTokenScheme", "AutoSchema", "JwtScheme", "OpenApiTypes"]

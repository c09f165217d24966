"""drf-spectacular extensions so the OpenAPI schema describes our bearer auth (no warnings)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mrmarket.authentication.BearerTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A user token (`mmu_...`) or an admin JWT from POST /auth/login.",
        }

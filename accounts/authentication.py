"""DRF authentication by `Authorization: Bearer <token>`, and its OpenAPI scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions

from .credentials import MalformedCredentials, bearer_token
from .tokens import authenticate_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Bearer tokens only in the header: query strings end up in access logs."""

    keyword = "Bearer"

    def authenticate(self, request):
        try:
            plaintext = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        except MalformedCredentials as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        if plaintext is None:
            return None
        token = authenticate_token(plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how BearerTokenAuthentication reads a request."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )

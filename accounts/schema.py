"""OpenAPI description of the cookie/Bearer JWT authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTCookieAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.JWTCookieAuthentication"
    name = ["cookieAuth", "bearerAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "cookie", "name": "access_token",
             "description": "httpOnly JWT cookie set by login / verify-login-otp (browsers)"},
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "The same access token as a Bearer header (non-browser clients)"},
        ]

"""Setting and clearing the auth cookies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.response import Response
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User

# The account's ``token_version`` when the token was issued; a token from an older version is refused.
TOKEN_VERSION_CLAIM = "tv"


def issue_tokens(*, user: User, remember_me: bool = False) -> RefreshToken:
    refresh = RefreshToken.for_user(user)
    refresh[TOKEN_VERSION_CLAIM] = user.token_version  # copied into the access token too
    if remember_me:
        refresh["remember"] = True
        refresh.set_exp(lifetime=settings.REMEMBER_ME_REFRESH_LIFETIME)
    return refresh


def token_is_current(*, payload: Mapping[str, Any], user: User) -> bool:
    """Whether a token was issued under the account's present ``token_version`` and password
    hash (the checks ``accounts.authentication`` makes of access tokens, for refresh tokens)."""
    if payload.get(TOKEN_VERSION_CLAIM) != user.token_version:
        return False
    return not api_settings.CHECK_REVOKE_TOKEN or payload.get(
        api_settings.REVOKE_TOKEN_CLAIM) == get_md5_hash_password(user.password)


def _common() -> dict:
    return {
        "httponly": True,
        "secure": settings.AUTH_COOKIE_SECURE,
        "samesite": settings.AUTH_COOKIE_SAMESITE,
        "domain": settings.AUTH_COOKIE_DOMAIN,
    }


def set_access_cookie(response, raw_access: str):
    response.set_cookie(
        settings.AUTH_COOKIE_ACCESS,
        raw_access,
        max_age=int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        path="/",
        **_common(),
    )
    return response


def set_auth_cookies(response: Response, refresh: RefreshToken) -> Response:
    remember = bool(refresh.payload.get("remember"))
    refresh_age = settings.REMEMBER_ME_REFRESH_LIFETIME if remember else settings.REFRESH_TOKEN_LIFETIME
    common = _common()
    set_access_cookie(response, str(refresh.access_token))
    response.set_cookie(
        settings.AUTH_COOKIE_REFRESH,
        str(refresh),
        max_age=int(refresh_age.total_seconds()),
        path="/api/",
        **common,
    )
    return response


def clear_auth_cookies(response: Response) -> Response:
    response.delete_cookie(settings.AUTH_COOKIE_ACCESS, path="/", domain=settings.AUTH_COOKIE_DOMAIN,
                           samesite=settings.AUTH_COOKIE_SAMESITE)
    response.delete_cookie(settings.AUTH_COOKIE_REFRESH, path="/api/", domain=settings.AUTH_COOKIE_DOMAIN,
                           samesite=settings.AUTH_COOKIE_SAMESITE)
    return response


class ResumedSessionCookieMiddleware:
    """Sets the access cookie minted for a request that was signed in from its refresh cookie
    (``accounts.authentication``), unless the response sets or clears the cookies itself."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        raw = getattr(request, RESUMED_ACCESS_ATTR, None)
        if raw and settings.AUTH_COOKIE_ACCESS not in response.cookies:
            set_access_cookie(response, raw)
        return response


RESUMED_ACCESS_ATTR = "phb_resumed_access_token"

"""Setting and clearing the auth cookies."""

from __future__ import annotations

from django.conf import settings
from rest_framework.response import Response
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User


def issue_tokens(*, user: User, remember_me: bool = False) -> RefreshToken:
    refresh = RefreshToken.for_user(user)
    if remember_me:
        refresh["remember"] = True
        refresh.set_exp(lifetime=settings.REMEMBER_ME_REFRESH_LIFETIME)
    return refresh


def set_auth_cookies(response: Response, refresh: RefreshToken) -> Response:
    remember = bool(refresh.payload.get("remember"))
    refresh_age = settings.REMEMBER_ME_REFRESH_LIFETIME if remember else settings.REFRESH_TOKEN_LIFETIME
    common = {
        "httponly": True,
        "secure": settings.AUTH_COOKIE_SECURE,
        "samesite": settings.AUTH_COOKIE_SAMESITE,
        "domain": settings.AUTH_COOKIE_DOMAIN,
    }
    response.set_cookie(
        settings.AUTH_COOKIE_ACCESS,
        str(refresh.access_token),
        max_age=int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        path="/",
        **common,
    )
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

"""JWT from the httpOnly ``access_token`` cookie, or ``Authorization: Bearer`` for other clients.

A token is refused once the account's ``token_version`` has moved past the one it carries:
logout, a password change and a password reset raise it, ending every access and refresh token
issued before (access tokens included, not only at their expiry).

The frontend sends no CSRF token. Cookie-authenticated unsafe requests are protected by:
SameSite=Lax cookies (no cookie on cross-site POSTs), the CORS allow-list with credentials, and
an Origin check here: a browser request from an origin outside the allow-list is refused.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.cookies import RESUMED_ACCESS_ATTR, TOKEN_VERSION_CLAIM
from accounts.verified_tokens import verified_tokens

# A deactivated hospital's staff (``hospitals.selectors.works_at_inactive_hospital``): refused at
# sign-in (403) and on every request of a session they hold (401), with this message.
HOSPITAL_INACTIVE = ("Your hospital has been deactivated on PHB, so its staff cannot sign in or use "
                     "the service. Contact PHB support.")
HOSPITAL_INACTIVE_CODE = "hospital_inactive"

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SAFE_METHODS = {"GET", "HEAD"}
logger = logging.getLogger(__name__)


def origin_allowed(request) -> bool:
    origin = request.META.get("HTTP_ORIGIN")
    if not origin:
        return True
    if origin in settings.CORS_ALLOWED_ORIGINS:
        return True
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # not a URL (``http://[::1``): no origin of ours
        return False
    return netloc == request.get_host()


class JWTCookieAuthentication(JWTAuthentication):
    www_authenticate_realm = "api"

    def get_validated_token(self, raw_token: bytes):
        """Verified in full the first time this process sees the token, then expiry only
        (``accounts.verified_tokens``); the user is still read and checked on every request."""
        return verified_tokens.get(raw_token, verify=super().get_validated_token)

    def get_user(self, validated_token):
        """The user, loaded with their primary hospital registration in the same query; staff of a
        deactivated hospital are refused (the check reads their staff place, which their views
        read anyway: nothing more for patients)."""
        from hospitals.selectors import user_with_primary_registration, works_at_inactive_hospital

        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user = user_with_primary_registration(user_id=user_id)
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(TOKEN_VERSION_CLAIM) != user.token_version:
            raise AuthenticationFailed("This session has ended. Please sign in again.", code="session_ended")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        if works_at_inactive_hospital(user=user):
            raise AuthenticationFailed(HOSPITAL_INACTIVE, code=HOSPITAL_INACTIVE_CODE)
        return user

    def authenticate(self, request):
        header = self.get_header(request)
        # An empty header carries no credential (the organisation's user management page sends
        # ``Authorization: ''`` beside the cookie): the cookie decides, as with no header at all.
        if header is not None and header.strip():
            raw = self.get_raw_token(header)
            if raw is None:
                return None
            token = self.get_validated_token(raw)
            return self.get_user(token), token
        raw_cookie = request.COOKIES.get(settings.AUTH_COOKIE_ACCESS)
        if not raw_cookie:
            return self._resume_from_refresh_cookie(request)
        try:
            token = self.get_validated_token(raw_cookie.encode())
        except InvalidToken:
            resumed = self._resume_from_refresh_cookie(request)
            if resumed is None:
                raise
            return resumed
        if request.method in UNSAFE_METHODS and not origin_allowed(request):
            raise PermissionDenied("Cross-origin request refused.")
        return self.get_user(token), token

    def _resume_from_refresh_cookie(self, request):
        """A returning browser whose access cookie has gone but whose refresh cookie is valid
        (the frontend asks ``/api/profile/`` on load and treats a 401 as signed out): a read
        is answered signed in, and the response carries a fresh access cookie. The refresh
        token is checked (signature, expiry, blacklist, the password it was issued under) but
        not rotated, so parallel requests of one page load cannot spend it against each
        other; writes still need a live access token."""
        if request.method not in SAFE_METHODS:
            return None
        raw = request.COOKIES.get(settings.AUTH_COOKIE_REFRESH)
        if not raw:
            return None
        try:
            refresh = RefreshToken(raw)
        except TokenError:
            return None
        access = refresh.access_token
        token = self.get_validated_token(str(access).encode())
        user = self.get_user(token)
        setattr(getattr(request, "_request", request), RESUMED_ACCESS_ATTR, str(access))
        logger.info("session resumed from the refresh cookie", extra={"event": "session_resumed"})
        return user, token

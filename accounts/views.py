"""Auth endpoints A1–A13 (contract §1). Views parse input and call services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import password_resets, services
from accounts.authentication import HOSPITAL_INACTIVE, HOSPITAL_INACTIVE_CODE
from accounts.cookies import clear_auth_cookies, issue_tokens, set_auth_cookies, token_is_current
from accounts.models import CodePurpose, User
from accounts.roles import login_code_required
from accounts.serializers import (
    EmailInput,
    LoginInput,
    OnboardingInput,
    PasswordChangeInput,
    PasswordResetConfirmInput,
    ProfileUpdateInput,
    RegisterInput,
    VerifyLoginCodeInput,
    user_payload,
)
from accounts.throttles import (
    password_attempt,
    throttle_code_check,
    throttle_email_action,
    throttle_password_attempt,
    throttle_registration,
)
from hospitals.selectors import primary_registration_of, works_at_inactive_hospital
from phb.afterresponse import defer
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.serializers import validated
from phb.api.views import ApiView, PublicApiView


def profile_payload(user: User) -> dict:
    return user_payload(user, primary_registration=primary_registration_of(user=user))


def signed_in_response(*, user: User, remember_me: bool, body: dict, status_code: int = 200) -> Response:
    response = Response(body, status=status_code)
    return set_auth_cookies(response, issue_tokens(user=user, remember_me=remember_me))


class LoginView(PublicApiView):
    @extend_schema(request=LoginInput, responses={200: dict}, summary="A1 login (sends a code when required)")
    def post(self, request: Request) -> Response:
        data = validated(LoginInput, request.data)
        with password_attempt(request, data["email"]):
            user = services.login_check_password(email=data["email"], password=data["password"])
        if login_code_required(user):
            services.code_send(user=user, purpose=CodePurpose.LOGIN)
            return Response(
                {
                    "status": "pending",
                    "require_otp": True,
                    "otpRequired": True,
                    "email": user.email,
                    "message": "We sent a 6-digit login code to your email.",
                }
            )
        return signed_in_response(
            user=user,
            remember_me=data["remember_me"],
            body={"status": "success", "message": "Signed in.", "user": profile_payload(user)},
        )


class VerifyLoginCodeView(PublicApiView):
    @extend_schema(request=VerifyLoginCodeInput, responses={200: dict}, summary="A2 verify the login code")
    def post(self, request: Request) -> Response:
        data = validated(VerifyLoginCodeInput, request.data)
        throttle_code_check(request, data["email"])
        user = services.login_verify_code(email=data["email"], code=data["otp"])
        payload = profile_payload(user)
        return signed_in_response(
            user=user,
            remember_me=data["remember_me"],
            body={"status": "success", "message": "Signed in.", "user_data": payload, "user": payload},
        )


class ResendLoginCodeView(PublicApiView):
    """A3. Sends a new code only while a sign-in is in progress: its password step under
    ``services.login_window_seconds`` ago, counted from that step however often codes are resent
    (``services.login_code_resend``). The answer is the same either way, at the same cost."""

    @extend_schema(request=EmailInput, responses={200: dict}, summary="A3 resend the login code")
    def post(self, request: Request) -> Response:
        data = validated(EmailInput, request.data)
        throttle_email_action(request, data["email"], action="login-resend")
        # The lookup and the resend run once the answer is sent: neither the time it takes (an
        # email sent or not) nor the account's own resend budget tells whether a sign-in is on.
        defer(partial(services.login_code_resend_for, email=data["email"]), name="login_code_resend")
        return Response({"message": "If a sign-in is in progress for this email, a new code is on its way."})


class TokenRefreshView(PublicApiView):
    """A4: no body; the refresh token comes from its cookie; answers ``{status: 'success'}``."""

    @extend_schema(request=None, responses={200: dict}, summary="A4 refresh the cookies")
    def post(self, request: Request) -> Response:
        raw = request.COOKIES.get(settings.AUTH_COOKIE_REFRESH) or (
            request.data.get("refresh") if isinstance(request.data, dict) else None
        )
        if not raw:
            raise ApiError("No refresh token.", status_code=401, code="not_authenticated")
        try:
            old = RefreshToken(raw)
            user = User.objects.filter(pk=old.payload.get(settings.SIMPLE_JWT["USER_ID_CLAIM"]), is_active=True).first()
            if user is None or not token_is_current(payload=old.payload, user=user):
                raise ApiError("Session ended.", status_code=401, code="not_authenticated")
            if works_at_inactive_hospital(user=user):
                raise ApiError(HOSPITAL_INACTIVE, status_code=401, code=HOSPITAL_INACTIVE_CODE)
            old.blacklist()
        except TokenError as exc:
            raise ApiError("Session expired. Please sign in again.", status_code=401, code="token_not_valid") from exc
        fresh = issue_tokens(user=user, remember_me=bool(old.payload.get("remember")))
        response = Response({"status": "success", "message": "Session refreshed."})
        return set_auth_cookies(response, fresh)


class LogoutView(PublicApiView):
    """A5: ends the account's sessions (access tokens included) and clears both cookies.

    Works with an expired access cookie: the account is taken from whichever of the two tokens
    is still valid. Without a valid token it only clears the cookies."""

    @extend_schema(request=None, responses={200: dict}, summary="A5 logout")
    def post(self, request: Request) -> Response:
        user = _token_owner(request)
        if user is not None:
            services.sessions_end(user=user)
        return clear_auth_cookies(Response({"status": "success", "message": "Signed out."}))


def _token_owner(request: Request) -> User | None:
    """The account a still-valid refresh or access token of this request belongs to."""
    from accounts.authentication import JWTCookieAuthentication

    raw = request.COOKIES.get(settings.AUTH_COOKIE_REFRESH)
    if raw:
        try:
            token = RefreshToken(raw)
            token.blacklist()
        except TokenError:
            token = None
        if token is not None:
            found = User.objects.filter(pk=token.payload.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])).first()
            if found is not None and token_is_current(payload=token.payload, user=found):
                return found
    try:
        authenticated = JWTCookieAuthentication().authenticate(request._request)
    except Exception:  # an expired or ended access token: nothing more to end
        return None
    return authenticated[0] if authenticated else None


class RegisterView(PublicApiView):

    @extend_schema(request=RegisterInput, responses={201: dict}, summary="A6 registration")
    def post(self, request: Request) -> Response:
        throttle_registration(request)
        data = validated(RegisterInput, request.data)
        services.user_register(data=data)
        return Response(
            {"status": "success", "message": "Account created. You can sign in now.", "otpRequired": False},
            status=status.HTTP_201_CREATED,
        )


class ProfileView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, summary="A7 the caller's profile (always with role)")
    def get(self, request: Request) -> Response:
        return Response(profile_payload(request.user))

    @extend_schema(request=ProfileUpdateInput, responses={200: dict}, summary="A8 update the profile")
    def patch(self, request: Request) -> Response:
        data = validated(ProfileUpdateInput, request.data)
        if data.get("current_password"):  # a signed-in session may not guess the password faster than a login
            throttle_password_attempt(request, request.user.email)
        user = services.profile_update(user=request.user, data=data)
        return Response(profile_payload(user))


class RoleView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, summary="A9 the caller's role")
    def get(self, request: Request) -> Response:
        return Response({"role": request.user.role})


class OnboardingView(ApiView):
    access = Access.OWN

    @extend_schema(request=OnboardingInput, responses={200: dict}, summary="A10 onboarding done")
    def post(self, request: Request) -> Response:
        data = validated(OnboardingInput, request.data)
        services.onboarding_complete(user=request.user, completed=data["has_completed_onboarding"])
        return Response({"status": "success", "message": "Onboarding updated.", "has_completed_onboarding": data["has_completed_onboarding"]})


@contextmanager
def new_password_errors() -> Iterator[None]:
    """Django's password validators, answered as a ``new_password`` field error."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from exc


class PasswordChangeView(ApiView):
    access = Access.OWN

    @extend_schema(request=PasswordChangeInput, responses={200: dict}, summary="A11 change password")
    def post(self, request: Request) -> Response:
        data = validated(PasswordChangeInput, request.data)
        throttle_password_attempt(request, request.user.email)
        with new_password_errors():
            services.password_change(
                user=request.user, current_password=data["current_password"], new_password=data["new_password"]
            )
        response = Response({"status": "success", "message": "Password changed."})
        return set_auth_cookies(response, issue_tokens(user=request.user))


class PasswordResetRequestView(PublicApiView):
    @extend_schema(request=EmailInput, responses={200: dict}, summary="A12 request a reset link")
    def post(self, request: Request) -> Response:
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email.strip():
            raise ValidationError({"email": ["Enter your email address."]})
        if len(email) > 254:  # as sent, before the spaces around it are trimmed
            raise ValidationError({"email": ["Ensure this field has no more than 254 characters."]})
        parsed = EmailInput(data={"email": email})
        parsed.is_valid(raise_exception=True)  # length, NUL characters
        email = parsed.validated_data["email"]
        throttle_email_action(request, email, action="reset")
        # The lookup and everything after it run once the answer is sent: the same answer, at the
        # same cost, whether or not the account exists.
        defer(partial(password_resets.password_reset_request, email=email), name="password_reset_request")
        return Response(
            {"status": "success", "message": "If an account exists for this email, a reset link is on its way."}
        )


class PasswordResetConfirmView(PublicApiView):
    @extend_schema(request=PasswordResetConfirmInput, responses={200: dict}, summary="A13 set a new password")
    def post(self, request: Request) -> Response:
        data = validated(PasswordResetConfirmInput, request.data)
        with new_password_errors():
            password_resets.password_reset_confirm(token=data["token"], new_password=data["new_password"])
        return Response({"status": "success", "message": "Password updated. You can sign in now."})



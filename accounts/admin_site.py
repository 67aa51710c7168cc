"""The Django admin's sign-in: a password, then the code emailed to the account.

Operators are staff (``accounts.roles.is_staff_member``), and staff always sign in with the
emailed code: the admin shows every patient's record, so a password alone must not open it.
Django's admin signs in with a password only; :class:`PhbAdminSite` replaces its login with two
steps that use the API's own pieces:

1. ``/admin/login/``: email and password, checked under the API's password budgets
   (``accounts.throttles``: per address, per account and address, and the account's failure
   ceiling). Only an active account with ``is_staff`` passes, and every refusal reads the same.
   A code is emailed (``CodePurpose.LOGIN``, as for the API's sign-in) and the browser's session
   remembers whom it is for, until the code would expire; nobody is signed in yet.
2. ``/admin/login/code/``: the code, checked under the code budgets and each code's own attempts.
   Only then is the operator signed in (a new session key). "Send a new code" issues another
   under the API's resend budget, and only within the window of the password step
   (``accounts.services.login_code_resend``): resending never extends the sign-in.

A signed-in admin session ends after ``ADMIN_SESSION_IDLE_SECONDS`` without an admin page (each
admin page moves the end on) and ``ADMIN_SESSION_MAX_SECONDS`` after the code was entered,
whatever happened since: a workstation left signed in does not stay open for Django's default two
weeks.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from rest_framework.exceptions import Throttled

from accounts.codes import CodeRejected, code_verify
from accounts.models import CodePurpose, User
from accounts.services import code_send, login_code_resend
from accounts.throttles import (
    password_failed,
    password_succeeded,
    throttle_code_check,
    throttle_password_attempt,
)
from phb import metrics

logger = logging.getLogger("accounts")

PENDING_KEY = "phb_admin_sign_in"  # in the browser's session: {"user", "until", "next"}
SIGNED_IN_AT_KEY = "phb_admin_signed_in_at"  # time.time() when the code was entered


class AdminPasswordForm(AdminAuthenticationForm):
    """Django's admin form (active ``is_staff`` accounts only, one message for every refusal),
    under the API's password budgets; the email is read as accounts keep it (lower case)."""

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        self.cleaned_data["username"] = email
        try:
            throttle_password_attempt(self.request, email)
        except Throttled as exc:
            raise ValidationError(str(exc.detail), code="throttled") from exc
        try:
            cleaned = super().clean()
        except ValidationError:
            password_failed(email)
            raise
        password_succeeded(self.request, email)
        return cleaned


class AdminCodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=6, min_length=6, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))


class PasswordStep(LoginView):
    """Step 1: a right password sends the code instead of signing in."""

    def form_valid(self, form: AdminPasswordForm) -> HttpResponse:
        user = form.get_user()
        code_send(user=user, purpose=CodePurpose.LOGIN)
        self.request.session[PENDING_KEY] = {"user": str(user.pk), "next": self.get_redirect_url(),
                                             "until": time.time() + settings.OTP_TTL_SECONDS}
        return HttpResponseRedirect(reverse("admin:login_code"))


class PhbAdminSite(admin.AdminSite):
    site_header = "PHB administration"
    site_title = "PHB administration"

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {**self.each_context(request), "title": "Log in", "subtitle": None,
                   "app_path": request.get_full_path(), "username": request.user.get_username()}
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return PasswordStep.as_view(extra_context=context, authentication_form=AdminPasswordForm,
                                    template_name="admin/login.html")(request)

    def has_permission(self, request: HttpRequest) -> bool:
        """Django's rule (an active ``is_staff`` account), within the session's two limits; each
        admin page asked for moves the idle limit on."""
        if not super().has_permission(request):
            return False
        signed_in_at = request.session.get(SIGNED_IN_AT_KEY)
        if signed_in_at is not None and time.time() - float(signed_in_at) > settings.ADMIN_SESSION_MAX_SECONDS:
            auth_logout(request)
            return False
        request.session.set_expiry(settings.ADMIN_SESSION_IDLE_SECONDS)
        return True

    def get_urls(self) -> list:
        return [path("login/code/", self.login_code, name="login_code"), *super().get_urls()]

    @method_decorator(never_cache)
    @method_decorator(csrf_protect)
    def login_code(self, request: HttpRequest) -> HttpResponse:
        """Step 2: the emailed code signs the operator in."""
        pending = request.session.get(PENDING_KEY)
        user = _pending_user(pending)
        if user is None:
            request.session.pop(PENDING_KEY, None)
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        form = AdminCodeForm(request.POST if request.method == "POST" else None)
        notice = ""
        if request.method == "POST" and "resend" in request.POST:
            form = AdminCodeForm()
            notice, lasts = _resend(user)
            if lasts is not None:  # the step lasts as long as the new code, never past the window
                request.session[PENDING_KEY] = {**pending, "until": time.time() + lasts}
        elif request.method == "POST" and form.is_valid():
            refusal = _check_code(request, user, form.cleaned_data["code"])
            if refusal is None:
                request.session.pop(PENDING_KEY, None)
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                request.session[SIGNED_IN_AT_KEY] = time.time()
                request.session.set_expiry(settings.ADMIN_SESSION_IDLE_SECONDS)
                logger.info("admin signed in", extra={"event": "admin_signed_in"})
                target = pending.get("next") or ""
                if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                       require_https=request.is_secure()):
                    target = reverse("admin:index", current_app=self.name)
                return HttpResponseRedirect(target)
            form.add_error("code", refusal)
        context = {**self.each_context(request), "title": "Enter your code", "subtitle": None, "form": form,
                   "notice": notice, "app_path": request.get_full_path(),
                   "minutes": settings.OTP_TTL_SECONDS // 60}
        request.current_app = self.name
        return TemplateResponse(request, "admin/phb_login_code.html", context)


def _pending_user(pending: Any) -> User | None:
    if not isinstance(pending, dict) or float(pending.get("until") or 0) < time.time():
        return None
    return User.objects.filter(pk=pending.get("user"), is_active=True, is_staff=True).first()


def _check_code(request: HttpRequest, user: User, code: str) -> str | None:
    """``None`` when ``code`` is the user's live login code (now spent), else the refusal to show."""
    try:
        throttle_code_check(request, user.email)
    except Throttled as exc:
        return str(exc.detail)
    try:
        code_verify(user=user, purpose=CodePurpose.LOGIN, code=code)
    except Throttled as exc:  # the account's wrong-code budget
        return str(exc.detail)
    except CodeRejected as exc:
        metrics.record("OTPVerificationFailure", area="Auth", dimensions={"Purpose": "admin_login"})
        logger.info("login code refused", extra={"event": "code_refused", "purpose": "admin_login",
                                                 "reason": exc.reason})
        return exc.message
    return None


def _resend(user: User) -> tuple[str, float | None]:
    """The notice to show, and the new code's seconds of life (``None``: none was sent). Codes
    are resent only within the window of the password step (``accounts.services.login_code_resend``)."""
    try:
        expires = login_code_resend(user=user)
    except Throttled as exc:
        return str(exc.detail), None
    if expires is None:
        return "This sign-in has expired. Start again with your password.", None
    return "We sent a new code.", max(0.0, (expires - timezone.now()).total_seconds())

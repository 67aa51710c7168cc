"""Fixed-window rate limits in the shared cache (Redis in production), so every worker and
machine counts together. DRF's per-process throttles are not used for security decisions.

Password guessing is limited without letting a stranger lock the owner out:

- every password attempt counts against its address (``LOGIN_RATE_PER_IP``) and against the
  pair of account and address (``LOGIN_RATE_PER_ACCOUNT``): wrong passwords sent from one place
  for an account slow down that place only;
- failures also count per account (``LOGIN_FAILURES_PER_ACCOUNT``, successes do not). Past that
  ceiling the account takes no more password attempts from addresses it has not signed in from
  before (an attack spread over many addresses), while addresses it signed in from recently
  (``LOGIN_KNOWN_ADDRESS_DAYS``) still work;
- one-time code checks have their own budgets (``CODE_CHECK_RATE_*``), on top of each code's own
  five attempts, so failed passwords never block a code and the other way round;
- wrong one-time codes also count per account and purpose family, whatever the address
  (``CODE_FAILURES_PER_ACCOUNT``, 20 an hour): past it the account's codes of that family are not
  checked at all until the window ends (guessing spread over many addresses);
- password-reset requests and registrations have budgets of their own per address.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import APIException, Throttled


def parse_rate(rate: str) -> tuple[int, int]:
    count, seconds = rate.split("/")
    return int(count), int(seconds)


def client_ip(request) -> str:
    """The caller's address; trusts X-Forwarded-For only as far as TRUSTED_PROXY_COUNT hops."""
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR", "unknown")


def _key(scope: str, ident: str, window: int, seconds: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{seconds}:{window}"


def hit(*, scope: str, ident: str, rate: str) -> str:
    """Count one event for ``ident``; raise ``Throttled`` (429 with Retry-After) over the rate.
    Returns the counter's cache key (for a caller that may give the event back)."""
    limit, seconds = parse_rate(rate)
    now = time.time()
    window = int(now // seconds)
    key = _key(scope, ident, window, seconds)
    cache.add(key, 0, timeout=seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=seconds + 5)
        count = 1
    if count > limit:
        raise Throttled(wait=_retry_after(seconds, now), detail="Too many attempts. Try again later.")
    return key


def _retry_after(seconds: int, now: float) -> int:
    """Seconds until the fixed window of ``seconds`` containing ``now`` ends."""
    return max(1, int((int(now // seconds) + 1) * seconds - now))


def _count(*, scope: str, ident: str, rate: str) -> int:
    limit, seconds = parse_rate(rate)
    return int(cache.get(_key(scope, ident, int(time.time() // seconds), seconds)) or 0)


def _account(email: str) -> str:
    return (email or "").strip().lower()


def _known_key(account: str, address: str) -> str:
    return "rl:login-known:" + hashlib.sha256(f"{account}|{address}".encode()).hexdigest()[:32]


def throttle_password_attempt(request, email: str) -> None:
    """Before a password is checked: the address's and the pair's budgets, then the account's
    failure ceiling for addresses the account has not signed in from."""
    address, account = client_ip(request), _account(email)
    hit(scope="login-ip", ident=address, rate=settings.LOGIN_RATE_PER_IP)
    hit(scope="login-pair", ident=f"{account}|{address}", rate=settings.LOGIN_RATE_PER_ACCOUNT)
    limit, seconds = parse_rate(settings.LOGIN_FAILURES_PER_ACCOUNT)
    if _count(scope="login-fail", ident=account, rate=settings.LOGIN_FAILURES_PER_ACCOUNT) >= limit \
            and not cache.get(_known_key(account, address)):
        raise Throttled(wait=_retry_after(seconds, time.time()),
                        detail="Too many failed sign-ins for this account. Try again later.")


def password_failed(email: str) -> None:
    account = _account(email)
    try:
        hit(scope="login-fail", ident=account, rate=settings.LOGIN_FAILURES_PER_ACCOUNT)
    except Throttled:
        pass  # counted; the ceiling applies to the next attempt


def password_succeeded(request, email: str) -> None:
    """Remember this address for the account (it keeps working past the failure ceiling)."""
    cache.set(_known_key(_account(email), client_ip(request)), 1,
              timeout=settings.LOGIN_KNOWN_ADDRESS_DAYS * 86400)


@contextmanager
def password_attempt(request, email: str) -> Iterator[None]:
    """Wrap a password check: throttled first, its failure (a 401) counted, its success remembered."""
    throttle_password_attempt(request, email)
    try:
        yield
    except APIException as exc:
        if exc.status_code == 401:
            password_failed(email)
        raise
    password_succeeded(request, email)


def throttle_code_check(request, email: str) -> None:
    """Before a one-time code is checked (its own budget, separate from passwords)."""
    address = client_ip(request)
    hit(scope="code-ip", ident=address, rate=settings.CODE_CHECK_RATE_PER_IP)
    hit(scope="code-pair", ident=f"{_account(email)}|{address}", rate=settings.CODE_CHECK_RATE_PER_ACCOUNT)


def throttle_email_action(request, email: str, *, action: str) -> None:
    """Reset requests, code resends and the like: per address and per account-and-address."""
    address = client_ip(request)
    hit(scope=f"{action}-ip", ident=address, rate=settings.EMAIL_ACTION_RATE_PER_IP)
    hit(scope=f"{action}-pair", ident=f"{_account(email)}|{address}", rate=settings.EMAIL_ACTION_RATE_PER_ACCOUNT)


def throttle_registration(request) -> None:
    hit(scope="register-ip", ident=client_ip(request), rate=settings.REGISTRATION_RATE_PER_IP)


def throttle_code_request(*, user_id: object, purpose: str) -> None:
    hit(scope=f"code-{purpose}", ident=str(user_id), rate=settings.OTP_REQUEST_RATE_PER_ACCOUNT)


# Wrong one-time codes per account, across every address, per family of codes. The consent codes
# clinicians enter are counted on the patient's account apart from her own records code: a
# clinician who spends their budget stops consent codes being checked, and never locks the
# patient out of her own record (either budget still allows only 20 guesses an hour at codes of
# a million values).
CODE_FAMILIES = {
    "login": "sign-in",
    "admin_password_reset": "password-reset",
    "medical_records": "records",
    "clinician_access": "records-consent",
    "womens_health": "womens-health",
}


def code_failure_slot(*, user_id: object, purpose: str) -> Callable[[], None]:
    """Before a code of ``user_id`` is compared: take one of the account's wrong-code slots for the
    purpose's family (``CODE_FAILURES_PER_ACCOUNT``), or raise ``Throttled`` (429) when they are
    all taken. Returns the refund, for a check that turns out right or never compared a code.

    The slot is taken before the comparison, so parallel guesses on several workers cannot pass
    the budget between a check and its count."""
    family = CODE_FAMILIES.get(str(purpose), str(purpose))
    key = hit(scope="code-fail", ident=f"{user_id}|{family}", rate=settings.CODE_FAILURES_PER_ACCOUNT)

    def refund() -> None:
        try:
            cache.decr(key)
        except ValueError:  # expired meanwhile: nothing left to give back
            pass

    return refund

"""Fixed-window rate limits in the shared cache (Redis in production), so every worker and
machine counts together. DRF's per-process throttles are not used for security decisions."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled


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


def hit(*, scope: str, ident: str, rate: str) -> None:
    """Count one event for ``ident``; raise ``Throttled`` (429 with Retry-After) over the rate."""
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
        raise Throttled(wait=max(1, int((window + 1) * seconds - now)), detail="Too many attempts. Try again later.")


def throttle_login(request, email: str) -> None:
    hit(scope="login-ip", ident=client_ip(request), rate=settings.LOGIN_RATE_PER_IP)
    hit(scope="login-acct", ident=(email or "").strip().lower(), rate=settings.LOGIN_RATE_PER_ACCOUNT)


def throttle_code_request(*, user_id: object, purpose: str) -> None:
    hit(scope=f"code-{purpose}", ident=str(user_id), rate=settings.OTP_REQUEST_RATE_PER_ACCOUNT)

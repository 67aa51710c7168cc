"""A returning browser: the 30-minute access cookie has gone, the refresh cookie is still valid.
The frontend asks ``GET /api/profile/`` on load and treats a 401 as signed out
(src/features/auth/authContext.tsx checkAuthStatus), so reads answer signed in and set a fresh
access cookie; everything that ends a session still ends it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.cookies import issue_tokens
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCESS, REFRESH = settings.AUTH_COOKIE_ACCESS, settings.AUTH_COOKIE_REFRESH


def _returning(user, *, access: str | None = None) -> tuple[APIClient, RefreshToken]:
    refresh = issue_tokens(user=user)
    client = APIClient()
    client.cookies[REFRESH] = str(refresh)
    if access is not None:
        client.cookies[ACCESS] = access
    return client, refresh


def test_reload_with_only_the_refresh_cookie_stays_signed_in():
    user = UserFactory()
    client, _ = _returning(user)
    response = client.get("/api/profile/")
    assert response.status_code == 200, response.json()
    assert response.json()["email"] == user.email
    cookie = response.cookies[ACCESS]
    assert cookie.value and cookie["httponly"] and int(cookie["max-age"]) == 1800 and cookie["path"] == "/"
    # The fresh access cookie works on its own (a write, which the refresh cookie alone cannot do).
    writer = APIClient()
    writer.cookies[ACCESS] = cookie.value
    assert writer.get("/api/profile/").status_code == 200
    assert ACCESS not in writer.get("/api/profile/").cookies, "a live access cookie is not reissued"


def test_an_expired_access_cookie_is_replaced_too():
    user = UserFactory()
    stale = issue_tokens(user=user).access_token
    stale.set_exp(lifetime=-timedelta(minutes=1))
    client, _ = _returning(user, access=str(stale))
    response = client.get("/api/user/has-primary-hospital/")
    assert response.status_code == 200 and response.cookies[ACCESS].value != str(stale)


def test_writes_still_need_a_live_access_token():
    client, _ = _returning(UserFactory())
    assert client.post("/api/womens-health/verification/", {}, format="json").status_code == 401


def test_nothing_is_resumed_after_logout_rotation_expiry_or_password_change():
    user = UserFactory()
    client, refresh = _returning(user)
    refresh.blacklist()  # what logout and a refresh rotation do to the old token
    response = client.get("/api/profile/")
    assert response.status_code == 401 and ACCESS not in response.cookies

    expired = issue_tokens(user=user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    late = APIClient()
    late.cookies[REFRESH] = str(expired)
    assert late.get("/api/profile/").status_code == 401

    client, _ = _returning(user)
    user.set_password("another-Passw0rd!")
    user.save()
    assert client.get("/api/profile/").status_code == 401

    client, _ = _returning(UserFactory(is_active=False))
    assert client.get("/api/profile/").status_code == 401

    garbage = APIClient()
    garbage.cookies[REFRESH] = "not-a-token"
    assert garbage.get("/api/profile/").status_code == 401


def test_logout_clears_what_a_resumed_read_set():
    client, _ = _returning(UserFactory())
    assert client.get("/api/profile/").status_code == 200
    assert client.post("/api/logout/").status_code == 200
    assert client.get("/api/profile/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_page_load_of_parallel_reads_all_resume_and_the_refresh_token_still_refreshes(live_server):
    import httpx

    user = UserFactory()
    refresh = str(issue_tokens(user=user))
    paths = ["/api/profile/", "/api/user/has-primary-hospital/", "/api/hospitals/", "/api/profile/"]

    def load(path):
        return httpx.get(f"{live_server.url}{path}", cookies={REFRESH: refresh}, timeout=30)

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        responses = list(pool.map(load, paths))
    assert [r.status_code for r in responses] == [200] * len(paths)
    assert all(r.cookies.get(ACCESS) for r in responses)
    refreshed = httpx.post(f"{live_server.url}/api/token/refresh/", cookies={REFRESH: refresh}, timeout=30)
    assert refreshed.status_code == 200

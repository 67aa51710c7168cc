"""Contract §1 auth rows end to end over real HTTP with a cookie jar (live server)."""

from __future__ import annotations

import re

import httpx
import pytest
from django.core import mail

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _code_from_mail() -> str:
    assert mail.outbox, "no email sent"
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match
    return match.group(1)


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url, headers={"Accept": "application/json"}) as client:
        yield client


def test_login_with_code_refresh_profile_logout(http):
    user = UserFactory(email="alice@example.test")
    response = http.post("/api/login/", json={"email": "Alice@Example.test", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["require_otp"] is True and body["status"] == "pending"
    assert "access_token" not in response.cookies, "no tokens before the code"

    # profile without a session: 401 JSON
    assert http.get("/api/profile/").status_code == 401

    code = _code_from_mail()
    response = http.post("/api/verify-login-otp/", json={"email": "alice@example.test", "otp": code})
    assert response.status_code == 200, response.text
    assert response.json()["user_data"]["email"] == "alice@example.test"
    set_cookie = response.headers.get_list("set-cookie")
    access = next(c for c in set_cookie if c.startswith("access_token="))
    assert "HttpOnly" in access and "SameSite=Lax" in access and "Max-Age=1800" in access

    profile = http.get("/api/profile/")
    assert profile.status_code == 200
    assert profile.json()["role"] == "patient"
    assert profile.json()["is_verified"] is True
    user.refresh_from_db()
    assert user.email_verified

    old_refresh = http.cookies.get("refresh_token")
    refreshed = http.post("/api/token/refresh/")
    assert refreshed.status_code == 200
    assert refreshed.json()["status"] == "success"
    assert http.cookies.get("refresh_token") != old_refresh

    # the rotated-out refresh token is blacklisted
    replay = httpx.post(f"{str(http.base_url).rstrip('/')}/api/token/refresh/", cookies={"refresh_token": old_refresh})
    assert replay.status_code == 401

    current_refresh = http.cookies.get("refresh_token")
    out = http.post("/api/logout/")
    assert out.status_code == 200
    assert http.cookies.get("access_token") is None
    again = httpx.post(f"{str(http.base_url).rstrip('/')}/api/token/refresh/", cookies={"refresh_token": current_refresh})
    assert again.status_code == 401
    assert http.get("/api/profile/").status_code == 401


def test_login_code_cannot_be_used_twice(http):
    UserFactory(email="bob@example.test")
    http.post("/api/login/", json={"email": "bob@example.test", "password": PASSWORD})
    code = _code_from_mail()
    assert http.post("/api/verify-login-otp/", json={"email": "bob@example.test", "otp": code}).status_code == 200
    second = http.post("/api/verify-login-otp/", json={"email": "bob@example.test", "otp": code})
    assert second.status_code == 400
    assert "message" in second.json()


def test_login_without_code_when_disabled_sets_cookies(http):
    UserFactory(email="carol@example.test", otp_required_for_login=False)
    response = http.post("/api/login/", json={"email": "carol@example.test", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["user"]["role"] == "patient"
    assert http.get("/api/profile/").status_code == 200


def test_wrong_password_is_401_json(http):
    UserFactory(email="dave@example.test")
    response = http.post("/api/login/", json={"email": "dave@example.test", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid email or password."
    assert not mail.outbox


def test_bearer_header_is_accepted(http):
    UserFactory(email="erin@example.test", otp_required_for_login=False)
    http.post("/api/login/", json={"email": "erin@example.test", "password": PASSWORD})
    token = http.cookies.get("access_token")
    response = httpx.get(f"{str(http.base_url).rstrip('/')}/api/profile/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200

"""accounts.verified_tokens: a token verified once is reused until it expires, and never trusted beyond that."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.cookies import issue_tokens
from accounts.verified_tokens import verified_tokens
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_table():
    verified_tokens.clear()
    yield
    verified_tokens.clear()


def _client(raw: str) -> APIClient:
    client = APIClient()
    client.cookies[settings.AUTH_COOKIE_ACCESS] = raw
    return client


def _decodes():
    """Counts the library's full decode (signature included) while letting it run."""
    return mock.patch.object(TokenBackend, "decode", autospec=True, side_effect=TokenBackend.decode)


@pytest.mark.parametrize(("size", "decodes", "kept"), [(2048, 1, 1), (0, 3, 0)], ids=["kept", "turned-off"])
def test_a_token_is_verified_in_full_once_then_reused(settings, size, decodes, kept):
    settings.AUTH_VERIFIED_TOKEN_CACHE_SIZE = size
    raw = str(issue_tokens(user=UserFactory()).access_token)
    with _decodes() as decode:
        for _ in range(3):
            assert _client(raw).get("/api/profile/").status_code == 200
    assert decode.call_count == decodes
    assert len(verified_tokens) == kept


def test_a_remembered_token_is_refused_once_it_expires():
    access = issue_tokens(user=UserFactory()).access_token
    access.set_exp(from_time=aware_utcnow(), lifetime=timedelta(seconds=2))
    raw = str(access)
    assert _client(raw).get("/api/profile/").status_code == 200
    assert len(verified_tokens) == 1
    time.sleep(max(0.0, access["exp"] - time.time()) + 0.2)
    refused = _client(raw).get("/api/profile/")
    assert refused.status_code == 401
    assert refused.json()["message"]
    assert len(verified_tokens) == 0


def test_a_changed_signature_is_not_the_remembered_token():
    raw = str(issue_tokens(user=UserFactory()).access_token)
    assert _client(raw).get("/api/profile/").status_code == 200
    head, payload, signature = raw.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert _client(forged).get("/api/profile/").status_code == 401
    assert len(verified_tokens) == 1  # a failed token is never kept


def test_logout_ends_a_remembered_token():
    user = UserFactory()
    raw = str(issue_tokens(user=user).access_token)
    client = _client(raw)
    assert client.get("/api/profile/").status_code == 200
    user.token_version += 1  # what logout and password changes do
    user.save(update_fields=["token_version"])
    assert client.get("/api/profile/").status_code == 401


def test_the_table_is_bounded(settings):
    settings.AUTH_VERIFIED_TOKEN_CACHE_SIZE = 2
    tokens = [str(issue_tokens(user=UserFactory()).access_token) for _ in range(3)]
    for raw in tokens:
        assert _client(raw).get("/api/profile/").status_code == 200
    assert len(verified_tokens) == 2
    with _decodes() as decode:  # the least recently used one was dropped, and is verified again
        assert _client(tokens[0]).get("/api/profile/").status_code == 200
        assert _client(tokens[2]).get("/api/profile/").status_code == 200
    assert decode.call_count == 1


def test_each_request_gets_its_own_claims():
    raw = str(issue_tokens(user=UserFactory()).access_token)
    first = verified_tokens.get(raw.encode(), verify=_verify)
    first["user_id"] = "someone-else"
    second = verified_tokens.get(raw.encode(), verify=_verify)
    assert second["user_id"] != "someone-else"


def _verify(raw: bytes):
    from rest_framework_simplejwt.authentication import JWTAuthentication

    from accounts.authentication import JWTCookieAuthentication

    return JWTAuthentication.get_validated_token(JWTCookieAuthentication(), raw)

"""An unknown email costs a password hash check, as a known one does, so timing does not tell them apart."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import get_hasher, identify_hasher

from accounts import services
from phb.api.errors import ApiError
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_email_checks_a_hash_of_the_current_cost():
    services._dummy_password_hash.cache_clear()
    with pytest.raises(ApiError) as refused:
        services.login_check_password(email="nobody@example.test", password=PASSWORD)
    assert refused.value.status_code == 401
    assert services._dummy_password_hash.cache_info().misses == 1  # made on first use, not at import
    dummy, known = identify_hasher(services._dummy_password_hash()), get_hasher()
    assert dummy.algorithm == known.algorithm
    assert dummy.safe_summary(services._dummy_password_hash()).get("iterations") == \
        known.safe_summary(known.encode("x", known.salt())).get("iterations")


def test_a_known_email_with_a_wrong_password_gets_the_same_answer():
    UserFactory(email="alice@example.test")
    with pytest.raises(ApiError) as unknown:
        services.login_check_password(email="nobody@example.test", password="wrong-password")
    with pytest.raises(ApiError) as known:
        services.login_check_password(email="alice@example.test", password="wrong-password")
    assert (unknown.value.status_code, str(unknown.value)) == (known.value.status_code, str(known.value))


def test_an_account_without_a_password_costs_a_hash_check_too(monkeypatch):
    """An invited hospital admin has no password until she chooses one: Django answers such a
    check at once, which would tell her account apart from an unknown email by its speed."""
    from django.contrib.auth import hashers

    checked: list[str] = []
    hasher = type(get_hasher())
    real_verify = hasher.verify
    monkeypatch.setattr(hasher, "verify", lambda self, password, encoded: checked.append(encoded) or
                        real_verify(self, password, encoded))
    UserFactory(email="alice@example.test")
    invited = UserFactory(email="invited@example.test")
    invited.set_unusable_password()
    invited.save()
    assert not hashers.is_password_usable(invited.password)
    for email in ("nobody@example.test", "alice@example.test", "invited@example.test"):
        checked.clear()
        with pytest.raises(ApiError) as refused:
            services.login_check_password(email=email, password="wrong-password")
        assert refused.value.status_code == 401
        assert len(checked) == 1, email

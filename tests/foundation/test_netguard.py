"""No AWS, Paystack, Redis or email call is made inside a database transaction (phb.netguard)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction

from phb.aws.clients import aws_client
from phb.netguard import TransactionHeldAcrossNetworkCall, open_transactions, take_violations


def test_an_aws_call_inside_a_transaction_is_refused_and_remembered(db):
    assert open_transactions() == []  # the test's own wrapping transaction does not count
    with transaction.atomic(), pytest.raises(TransactionHeldAcrossNetworkCall):
        aws_client("sts").get_caller_identity()
    assert take_violations() == ["sts.GetCallerIdentity"]
    aws_client("sts").get_caller_identity()  # outside: fine
    assert take_violations() == []


def test_s3_storages_are_guarded_too(db):
    with transaction.atomic(), pytest.raises(TransactionHeldAcrossNetworkCall):
        storages["clinical_guidelines"].save("netguard/probe.txt", ContentFile(b"x"))
    found = take_violations()
    assert found and all(target.startswith("s3.") for target in found)


def test_paystack_calls_are_guarded(db):
    from payments.gateway import get_gateway

    with transaction.atomic(), pytest.raises(Exception):
        get_gateway().verify(reference="PHB-netguard-probe")
    assert take_violations() == ["paystack"]


def test_redis_cache_calls_are_guarded(db):
    """Checked before the connection is taken: a silent server is never reached inside the transaction."""
    from phb.cache import RedisCache
    from tests.helpers import silent_server

    with silent_server() as port:
        cache = RedisCache(f"redis://127.0.0.1:{port}/0", {"OPTIONS": {"socket_timeout": 0.3}})
        for call in (lambda: cache.get("k"), lambda: cache.set("k", 1), lambda: cache.incr("k")):
            with transaction.atomic(), pytest.raises(TransactionHeldAcrossNetworkCall):
                call()
        assert take_violations() == ["redis", "redis", "redis"]
        with pytest.raises(Exception) as outside:  # outside: the call goes to the server (which never answers)
            cache.get("k")
        assert not isinstance(outside.value, TransactionHeldAcrossNetworkCall)
    assert take_violations() == []

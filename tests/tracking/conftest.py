"""Fixtures for the women's-health tests: verified users, their clients, a DynamoDB outage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from boto3.dynamodb.conditions import Key
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from phb.aws.clients import aws_resource, reset_clients
from phb.localaws import free_port
from tests.helpers import client_for
from tracking.dynamo import keys
from tracking.models import WomensHealthProfile

WH = "/api/womens-health"


def mark_verified(user):
    """The state W3 leaves behind (W1–W3 themselves are tested over HTTP in test_verification)."""
    WomensHealthProfile.objects.update_or_create(user=user, defaults={"verified_at": timezone.now()})
    return user


@pytest.fixture(autouse=True)
def _empty_partitions_afterwards(db):
    """Delete this test's DynamoDB items afterwards (the emulator is shared by the whole session)."""
    yield
    from accounts.models import User

    resource = aws_resource("dynamodb")
    for name in (settings.PREGNANCY_TRACKING_TABLE, settings.SEARCH_HISTORY_TABLE):
        table = resource.Table(name)
        for user_id in User.objects.values_list("id", flat=True):
            pk = keys.user_pk(user_id)
            start = None
            while True:
                kwargs = {"KeyConditionExpression": Key("pk").eq(pk), "ProjectionExpression": "pk, sk"}
                if start:
                    kwargs["ExclusiveStartKey"] = start
                page = table.query(**kwargs)
                with table.batch_writer() as batch:
                    for item in page["Items"]:
                        batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                start = page.get("LastEvaluatedKey")
                if not start:
                    break


@pytest.fixture
def mother(patient):
    return mark_verified(patient)


@pytest.fixture
def stranger(other_patient):
    return mark_verified(other_patient)


@pytest.fixture
def api(mother):
    return client_for(mother)


@contextmanager
def dynamodb_outage() -> Iterator[str]:
    """Point every AWS client at a loopback port where nothing listens, then restore."""
    dead = f"http://127.0.0.1:{free_port()}"
    with override_settings(AWS_ENDPOINT_URL=dead, AWS_MAX_ATTEMPTS=1, AWS_CONNECT_TIMEOUT=0.5):
        reset_clients()
        try:
            yield dead
        finally:
            reset_clients()
    reset_clients()
    assert settings.AWS_ENDPOINT_URL != dead

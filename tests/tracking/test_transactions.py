"""Transactions carry only the kinds of action the instance role is granted for them
(``phb.aws.iam``: TransactWriteItems needs PutItem and DeleteItem): another kind is refused before
anything reaches DynamoDB, where the role would have refused it in production only."""

from __future__ import annotations

import pytest

from phb.aws.clients import count_aws_calls
from phb.aws.iam import iam_actions
from tracking.dynamo import store


@pytest.mark.parametrize("kind", ["Update", "ConditionCheck"])
def test_a_transaction_with_an_action_the_role_is_not_granted_is_refused_before_any_call(kind):
    with count_aws_calls() as calls, pytest.raises(ValueError, match=kind):
        store.transact_write([{"Put": {"TableName": "t", "Item": {"pk": "a", "sk": "b"}}},
                              {kind: {"TableName": "t", "Key": {"pk": "a", "sk": "c"}}}])
    assert not calls


def test_the_role_is_granted_what_each_kind_of_transaction_action_needs():
    granted = set(iam_actions("dynamodb", "TransactWriteItems"))
    needs = {"Put": "dynamodb:PutItem", "Delete": "dynamodb:DeleteItem"}
    assert {needs[kind] for kind in store.TRANSACT_ACTION_KINDS} == granted

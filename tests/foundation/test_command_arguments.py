"""Periodic jobs refuse numbers they cannot use with a message naming the option, not a traceback."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("command", "option", "value"), [
    ("drain_outbox", "--max-users", "-1"),
    ("drain_outbox", "--max-users", "0"),
    ("drain_outbox", "--purge-days", "-3"),
    ("drain_outbox", "--loop", "-1"),
    ("reconcile_payments", "--limit", "-1"),
    ("reconcile_payments", "--limit", "0"),
])
def test_a_number_out_of_range_is_refused_by_name(command, option, value):
    with pytest.raises(CommandError) as refused:
        call_command(command, option, value, stdout=io.StringIO(), stderr=io.StringIO())
    assert option in str(refused.value)


@pytest.mark.parametrize(("command", "args"), [
    ("drain_outbox", ["--max-users", "1", "--purge-days", "0", "--loop", "0"]),
    ("reconcile_payments", ["--limit", "1"]),
])
def test_the_smallest_useful_numbers_are_taken(command, args):
    call_command(command, *args, stdout=io.StringIO())

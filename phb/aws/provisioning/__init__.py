"""Declarative AWS resources that ``provision_aws`` creates and converges.

Each app declares what it needs in ``<app>/aws_resources.py`` (a ``resources()`` function
returning a list of the classes below). ``ensure(check=True)`` only compares and reports drift;
``ensure(check=False)`` creates what is missing and converges what differs. Both work against
the local emulator and a real account alike.
"""

from __future__ import annotations

from phb.aws.provisioning.base import Action, Change, Resource, _error_code
from phb.aws.provisioning.buckets import Bucket
from phb.aws.provisioning.kms import KmsKey
from phb.aws.provisioning.logs import LogGroup
from phb.aws.provisioning.roles import IamRole
from phb.aws.provisioning.tables import DynamoTable, GlobalIndex

__all__ = [
    "Action", "Bucket", "Change", "DynamoTable", "GlobalIndex", "IamRole", "KmsKey", "LogGroup", "Resource",
    "_error_code",
]

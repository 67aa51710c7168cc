"""CloudWatch Logs: a log group and its retention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from phb.aws.clients import aws_client
from phb.aws.provisioning.base import Change, Resource


@dataclass
class LogGroup(Resource):
    kind: ClassVar[str] = "log-group"
    order: ClassVar[int] = 10
    name: str
    retention_days: int
    tags: dict[str, str] = field(default_factory=dict)

    def ensure(self, *, check: bool) -> list[Change]:
        logs = aws_client("logs")
        found = [
            g
            for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=self.name)
            for g in page["logGroups"]
            if g["logGroupName"] == self.name
        ]
        if not found:
            if check:
                return [Change(self.kind, self.name, "missing")]
            logs.create_log_group(logGroupName=self.name, tags=self.tags or {})
            logs.put_retention_policy(logGroupName=self.name, retentionInDays=self.retention_days)
            return [Change(self.kind, self.name, "created")]
        changes = []
        change = self._converge(
            check=check,
            what=f"retention {found[0].get('retentionInDays')} -> {self.retention_days} days",
            differs=found[0].get("retentionInDays") != self.retention_days,
            apply=lambda: logs.put_retention_policy(logGroupName=self.name, retentionInDays=self.retention_days),
        )
        if change:
            changes.append(change)
        return self._summarise(self.kind, self.name, changes, False)

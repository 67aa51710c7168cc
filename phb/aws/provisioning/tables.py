"""DynamoDB: a table with its global secondary indexes, TTL and point-in-time recovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from phb.aws.clients import aws_client
from phb.aws.provisioning.base import Change, Resource, _error_code


@dataclass
class GlobalIndex:
    name: str
    partition_key: tuple[str, str]  # (attribute, "S" | "N" | "B")
    sort_key: tuple[str, str] | None = None
    projection: str = "ALL"
    non_key_attributes: list[str] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        schema = [{"AttributeName": self.partition_key[0], "KeyType": "HASH"}]
        if self.sort_key:
            schema.append({"AttributeName": self.sort_key[0], "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": self.projection}
        if self.projection == "INCLUDE":
            projection["NonKeyAttributes"] = self.non_key_attributes
        return {"IndexName": self.name, "KeySchema": schema, "Projection": projection}

    def attributes(self) -> list[tuple[str, str]]:
        return [self.partition_key, *([self.sort_key] if self.sort_key else [])]


@dataclass
class DynamoTable(Resource):
    kind: ClassVar[str] = "dynamodb-table"
    order: ClassVar[int] = 30
    name: str
    partition_key: tuple[str, str]
    sort_key: tuple[str, str] | None = None
    indexes: list[GlobalIndex] = field(default_factory=list)
    ttl_attribute: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    point_in_time_recovery: bool = True

    def _attribute_definitions(self) -> list[dict[str, str]]:
        attrs: dict[str, str] = {}
        for name, typ in [self.partition_key, *([self.sort_key] if self.sort_key else [])]:
            attrs[name] = typ
        for index in self.indexes:
            for name, typ in index.attributes():
                attrs[name] = typ
        return [{"AttributeName": k, "AttributeType": v} for k, v in attrs.items()]

    def ensure(self, *, check: bool) -> list[Change]:
        ddb = aws_client("dynamodb")
        try:
            table = ddb.describe_table(TableName=self.name)["Table"]
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            table = None
        created = False
        changes: list[Change] = []
        if table is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            schema = [{"AttributeName": self.partition_key[0], "KeyType": "HASH"}]
            if self.sort_key:
                schema.append({"AttributeName": self.sort_key[0], "KeyType": "RANGE"})
            kwargs: dict[str, Any] = {
                "TableName": self.name,
                "KeySchema": schema,
                "AttributeDefinitions": self._attribute_definitions(),
                "BillingMode": "PAY_PER_REQUEST",
                "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            }
            if self.indexes:
                kwargs["GlobalSecondaryIndexes"] = [i.spec() for i in self.indexes]
            if self.tags:
                kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
            ddb.create_table(**kwargs)
            ddb.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            created = True
        else:
            existing = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
            for index in self.indexes:
                if index.name not in existing:
                    def add(index: GlobalIndex = index) -> None:
                        ddb.update_table(
                            TableName=self.name,
                            AttributeDefinitions=self._attribute_definitions(),
                            GlobalSecondaryIndexUpdates=[{"Create": index.spec()}],
                        )
                    change = self._converge(check=check, what=f"index {index.name} missing", differs=True, apply=add)
                    if change:
                        changes.append(change)
        if self.ttl_attribute:
            ttl = ddb.describe_time_to_live(TableName=self.name)["TimeToLiveDescription"]
            enabled = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == self.ttl_attribute
            change = self._converge(
                check=check, what=f"TTL on {self.ttl_attribute}", differs=not enabled,
                apply=lambda: ddb.update_time_to_live(
                    TableName=self.name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": self.ttl_attribute}),
            )
            if change and not created:
                changes.append(change)
        if self.point_in_time_recovery:
            backups = ddb.describe_continuous_backups(TableName=self.name)["ContinuousBackupsDescription"]
            pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
            change = self._converge(
                check=check, what="point-in-time recovery", differs=not pitr,
                apply=lambda: ddb.update_continuous_backups(
                    TableName=self.name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
            )
            if change and not created:
                changes.append(change)
        return self._summarise(self.kind, self.name, changes, created)

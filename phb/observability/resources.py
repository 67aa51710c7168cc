"""Provisioning resources for alerting: the SNS topic, CloudWatch alarms and dashboards.

Same contract as ``phb.aws.provisioning``: ``ensure(check=True)`` reports drift only,
``ensure(check=False)`` creates what is missing and converges what differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import account_id, aws_client
from phb.aws.provisioning import Change, Resource, _error_code


def topic_arn(name: str, account: str | None = None) -> str:
    return f"arn:aws:sns:{settings.AWS_REGION}:{account or account_id()}:{name}"


def alarm_arn(name: str, account: str | None = None) -> str:
    return f"arn:aws:cloudwatch:{settings.AWS_REGION}:{account or account_id()}:alarm:{name}"


@dataclass
class SnsTopic(Resource):
    """An alert topic; ``emails`` are subscribed (each confirms by mail on real AWS).

    Not encrypted with the AWS managed SNS key: CloudWatch alarms cannot publish to a topic
    encrypted with it. Alert texts carry metric names and counts only, never PHI.
    """

    kind: ClassVar[str] = "sns-topic"
    order: ClassVar[int] = 60
    name: str
    emails: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def _exists(self) -> bool:
        sns = aws_client("sns")
        arn = topic_arn(self.name)
        try:
            sns.get_topic_attributes(TopicArn=arn)
            return True
        except ClientError as exc:
            if _error_code(exc) in ("NotFound", "NotFoundException", "InvalidParameter"):
                return False
            raise

    def ensure(self, *, check: bool) -> list[Change]:
        sns = aws_client("sns")
        created = False
        if not self._exists():
            if check:
                return [Change(self.kind, self.name, "missing")]
            sns.create_topic(Name=self.name, Tags=[{"Key": k, "Value": v} for k, v in self.tags.items()])
            created = True
        arn = topic_arn(self.name)
        subscribed = {
            s["Endpoint"].lower()
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            for s in page["Subscriptions"]
            if s.get("Protocol") == "email"
        }
        changes: list[Change] = []
        for email in self.emails:
            if email.lower() in subscribed:
                continue
            change = self._converge(
                check=check, what="email subscription missing", differs=True,
                apply=lambda email=email: sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email),
            )
            if change:
                changes.append(change)
        return self._summarise(self.kind, self.name, changes, created)


def _normalise(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class MetricAlarm(Resource):
    """One CloudWatch alarm, given as the arguments of ``put_metric_alarm``."""

    kind: ClassVar[str] = "cloudwatch-alarm"
    order: ClassVar[int] = 70
    name: str
    spec: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)

    def _found(self) -> dict[str, Any] | None:
        found = aws_client("cloudwatch").describe_alarms(AlarmNames=[self.name], AlarmTypes=["MetricAlarm"])
        alarms = found.get("MetricAlarms", [])
        return alarms[0] if alarms else None

    def differences(self, found: dict[str, Any]) -> list[str]:
        out = []
        for key, desired in self.spec.items():
            current = found.get(key)
            if key == "Dimensions":
                desired = sorted(desired, key=lambda d: d["Name"])
                current = sorted(current or [], key=lambda d: d["Name"])
            if key in ("AlarmActions", "OKActions"):
                desired, current = sorted(desired), sorted(current or [])
            if key == "Threshold":
                desired, current = float(desired), float(current) if current is not None else None
            if _normalise(desired) != _normalise(current):
                out.append(key)
        return out

    def ensure(self, *, check: bool) -> list[Change]:
        cloudwatch = aws_client("cloudwatch")
        found = self._found()
        if found is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            cloudwatch.put_metric_alarm(
                **self.spec, Tags=[{"Key": k, "Value": v} for k, v in self.tags.items()]
            )
            return [Change(self.kind, self.name, "created")]
        differs = self.differences(found)
        change = self._converge(
            check=check, what=", ".join(differs), differs=bool(differs),
            apply=lambda: cloudwatch.put_metric_alarm(**self.spec),
        )
        return self._summarise(self.kind, self.name, [change] if change else [], False)


@dataclass
class Dashboard(Resource):
    kind: ClassVar[str] = "cloudwatch-dashboard"
    order: ClassVar[int] = 80
    name: str
    body: dict[str, Any]

    def ensure(self, *, check: bool) -> list[Change]:
        cloudwatch = aws_client("cloudwatch")
        try:
            current = json.loads(cloudwatch.get_dashboard(DashboardName=self.name)["DashboardBody"])
        except ClientError as exc:
            if _error_code(exc) not in ("ResourceNotFound", "ResourceNotFoundException", "DashboardNotFoundError"):
                raise
            current = None
        if current is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            cloudwatch.put_dashboard(DashboardName=self.name, DashboardBody=json.dumps(self.body))
            return [Change(self.kind, self.name, "created")]
        change = self._converge(
            check=check, what="widgets", differs=_normalise(current) != _normalise(self.body),
            apply=lambda: cloudwatch.put_dashboard(DashboardName=self.name, DashboardBody=json.dumps(self.body)),
        )
        return self._summarise(self.kind, self.name, [change] if change else [], False)


def alerting_resources() -> list[Resource]:
    """The alert topic, every alarm and the three dashboards, from ``definitions``."""
    from phb.observability.definitions import alarm_definitions, dashboard_definitions

    prefix = settings.AWS_NAME_PREFIX
    root = settings.CLOUDWATCH_METRICS_NAMESPACE
    topic_name = settings.CLOUDWATCH_ALERT_TOPIC_NAME
    tags = dict(settings.AWS_RESOURCE_TAGS)
    account = account_id()
    out: list[Resource] = [SnsTopic(name=topic_name, emails=list(settings.CLOUDWATCH_ALERT_EMAILS), tags=tags)]
    arn = topic_arn(topic_name, account)
    for spec in alarm_definitions(root=root, prefix=prefix, topic_arn=arn):
        out.append(MetricAlarm(name=spec["AlarmName"], spec=spec, tags=tags))
    dashboards = dashboard_definitions(
        root=root, prefix=prefix, region=settings.AWS_REGION, alarm_arn=lambda short: alarm_arn(f"{prefix}-{short}", account)
    )
    out.extend(Dashboard(name=name, body=body) for name, body in dashboards.items())
    return out

"""AWS resources the platform itself uses: one CloudWatch log group per area, and the alerting
(SNS topic, alarms, dashboards) defined in ``phb.observability.definitions``."""

from __future__ import annotations

from django.conf import settings

from phb.aws.provisioning import LogGroup, Resource
from phb.logs import ALL_LOG_GROUP_SUFFIXES


def log_group_names() -> list[str]:
    return [f"{settings.CLOUDWATCH_LOG_GROUP_PREFIX}/{suffix}" for suffix in ALL_LOG_GROUP_SUFFIXES]


def resources() -> list[Resource]:
    out: list[Resource] = []
    for name in log_group_names():
        retention = (
            settings.CLOUDWATCH_AUDIT_RETENTION_DAYS if name.endswith("/audit") else settings.CLOUDWATCH_LOG_RETENTION_DAYS
        )
        out.append(LogGroup(name=name, retention_days=retention, tags=dict(settings.AWS_RESOURCE_TAGS)))
    if settings.CLOUDWATCH_ALARMS_ENABLED:
        from phb.observability.resources import alerting_resources

        out.extend(alerting_resources())
    return out

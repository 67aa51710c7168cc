"""The seed's "EC2 CPU > 80%" alarm on the Auto Scaling group."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from phb.aws.compute.names import names

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances


# --- the CPU alarm -------------------------------------------------------------------------------------
def cpu_alarm_spec(*, topic_arn: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "AlarmName": names()["cpu_alarm"],
        "AlarmDescription": f"Average EC2 CPU above {settings.DEPLOY_CPU_ALARM_PERCENT:g}% across {names()['asg']} "
                            "for 10 minutes; target tracking adds instances up to the group's maximum.",
        "Namespace": "AWS/EC2",
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": names()["asg"]}],
        "Statistic": "Average",
        "Period": 300,
        "EvaluationPeriods": 2,
        "Threshold": float(settings.DEPLOY_CPU_ALARM_PERCENT),
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "missing",
        "ActionsEnabled": bool(topic_arn),
    }
    if topic_arn:
        spec["AlarmActions"] = [topic_arn]
        spec["OKActions"] = [topic_arn]
    return spec

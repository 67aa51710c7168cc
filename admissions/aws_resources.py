"""AWS resources of inpatient care: the bed-occupancy alarm and the admissions dashboard.

Metrics (namespace ``<root>/Admissions``, ``PHB/Admissions`` by default):

======================  =============================  =======================================
metric                  dimensions                     what
======================  =============================  =======================================
BedOccupancy (Percent)  Hospital+Department; none      occupied / in-service beds, per
                                                       department, every 5 minutes
                                                       (``publish_bed_occupancy``). The series
                                                       without dimensions gets every
                                                       department's value: its Maximum is the
                                                       fullest department.
AdmissionCreated        Priority+Admitted; none        admissions created
PatientDischarged       DischargeType; none            discharges
BedTransfer             none                           moves between beds
BedConflict             Reason; none                   bed requests refused (taken, none free)
======================  =============================  =======================================
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from phb.aws.provisioning import Resource

AREA = "Admissions"
# Alarm: some department above this occupancy (%) for OCCUPANCY_PERIODS periods of
# OCCUPANCY_PERIOD_S seconds (30 minutes).
OCCUPANCY_THRESHOLD_PCT = 95.0
OCCUPANCY_PERIOD_S = 300
OCCUPANCY_PERIODS = 6


def occupancy_alarm(*, root: str, prefix: str, topic_arn: str) -> dict[str, Any]:
    return {
        "AlarmName": f"{prefix}-BedOccupancyHigh",
        "AlarmDescription": f"A department has been more than {OCCUPANCY_THRESHOLD_PCT:g} % occupied for "
                            f"{OCCUPANCY_PERIOD_S * OCCUPANCY_PERIODS // 60} minutes (the dashboard "
                            "shows which).",
        "Namespace": f"{root}/{AREA}", "MetricName": "BedOccupancy", "Dimensions": [],
        "Statistic": "Maximum", "Period": OCCUPANCY_PERIOD_S, "EvaluationPeriods": OCCUPANCY_PERIODS,
        "DatapointsToAlarm": OCCUPANCY_PERIODS, "Threshold": OCCUPANCY_THRESHOLD_PCT,
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "missing",
        "ActionsEnabled": True, "AlarmActions": [topic_arn], "OKActions": [topic_arn],
    }


def dashboard_body(*, root: str, region: str, alarm_arn: str) -> dict[str, Any]:
    ns = f"{root}/{AREA}"
    return {"widgets": [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
         "properties": {"markdown": "## Inpatient care\nBed occupancy per department (alarm above "
                                    f"{OCCUPANCY_THRESHOLD_PCT:g} % for 30 minutes), admissions and discharges."}},
        {"type": "metric", "x": 0, "y": 2, "width": 12, "height": 6, "properties": {
            "title": "Bed occupancy by department (%)", "region": region, "view": "timeSeries", "stacked": False,
            "stat": "Maximum", "period": OCCUPANCY_PERIOD_S,
            "metrics": [
                [{"expression": f"SEARCH('{{{ns},Department,Hospital}} MetricName=\"BedOccupancy\"', 'Maximum', "
                                f"{OCCUPANCY_PERIOD_S})", "id": "depts"}],
                [ns, "BedOccupancy", {"label": "Fullest department", "stat": "Maximum"}],
            ],
            "annotations": {"horizontal": [{"label": "Alarm", "value": OCCUPANCY_THRESHOLD_PCT}]},
            "yAxis": {"left": {"min": 0, "max": 100, "label": "%", "showUnits": False}}}},
        {"type": "metric", "x": 12, "y": 2, "width": 12, "height": 6, "properties": {
            "title": "Admissions, discharges, transfers", "region": region, "view": "timeSeries", "stacked": False,
            "stat": "Sum", "period": 3600,
            "metrics": [[ns, "AdmissionCreated", {"label": "Admissions"}],
                        [ns, "PatientDischarged", {"label": "Discharges"}],
                        [ns, "BedTransfer", {"label": "Bed moves"}],
                        [ns, "BedConflict", {"label": "Bed requests refused"}]]}},
        {"type": "alarm", "x": 0, "y": 8, "width": 24, "height": 3,
         "properties": {"title": "Alarms", "alarms": [alarm_arn], "sortBy": "stateUpdatedTimestamp"}},
    ]}


def resources() -> list[Resource]:
    if not settings.CLOUDWATCH_ALARMS_ENABLED:
        return []
    from phb.aws.clients import account_id
    from phb.observability.resources import Dashboard, MetricAlarm, alarm_arn, topic_arn

    prefix = settings.AWS_NAME_PREFIX
    root = settings.CLOUDWATCH_METRICS_NAMESPACE
    account = account_id()
    alarm = occupancy_alarm(root=root, prefix=prefix, topic_arn=topic_arn(settings.CLOUDWATCH_ALERT_TOPIC_NAME, account))
    return [
        MetricAlarm(name=alarm["AlarmName"], spec=alarm, tags=dict(settings.AWS_RESOURCE_TAGS)),
        Dashboard(name=f"{prefix}-inpatient-care",
                  body=dashboard_body(root=root, region=settings.AWS_REGION,
                                      alarm_arn=alarm_arn(alarm["AlarmName"], account))),
    ]

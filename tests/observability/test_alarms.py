"""Alarms, the alert topic and the three dashboards exist after provision_aws, with the seed's
thresholds, and provisioning repairs drift."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from phb.aws.clients import aws_client
from phb.observability.definitions import ALARMED_SERVICES, THRESHOLDS

PREFIX = settings.AWS_NAME_PREFIX


def _alarms() -> dict[str, dict]:
    pages = aws_client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{PREFIX}-")
    return {a["AlarmName"]: a for page in pages for a in page["MetricAlarms"]}


def _topic_arn() -> str:
    topics = [t["TopicArn"] for t in aws_client("sns").list_topics()["Topics"]]
    found = [arn for arn in topics if arn.endswith(f":{settings.CLOUDWATCH_ALERT_TOPIC_NAME}")]
    assert found, topics
    return found[0]


def test_seed_alarms_with_their_thresholds_notify_the_alert_topic():
    alarms = _alarms()
    topic = _topic_arn()
    assert all(a["AlarmActions"] == [topic] and a["ActionsEnabled"] for a in alarms.values())

    # Seed: {"MetricName": "PaymentFailure", "Threshold": 5, "Period": 300, "Statistic": "Sum",
    #        "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1}
    payments = alarms[f"{PREFIX}-HighPaymentFailureRate"]
    assert (payments["Namespace"], payments["MetricName"], payments["Statistic"]) == ("PHB/Payments", "PaymentFailure", "Sum")
    assert (payments["Threshold"], payments["Period"], payments["EvaluationPeriods"]) == (5, 300, 1)
    assert payments["ComparisonOperator"] == "GreaterThanThreshold"

    # Seed: "OTP verification failures > 10/minute", every purpose and area summed.
    codes = alarms[f"{PREFIX}-HighCodeVerificationFailures"]
    assert codes["Threshold"] == 10 and codes["ComparisonOperator"] == "GreaterThanThreshold"
    stats = [q["MetricStat"] for q in codes["Metrics"] if "MetricStat" in q]
    assert {s["Metric"]["Namespace"] for s in stats} == {"PHB/Auth", "PHB/MedicalRecords", "PHB/Tracking"}
    assert {(s["Metric"]["MetricName"], s["Period"], s["Stat"]) for s in stats} == {("OTPVerificationFailure", 60, "Sum")}
    assert [q for q in codes["Metrics"] if q.get("ReturnData")][0]["Expression"].count("FILL(") == 3

    # Seed: "Payment failure rate > 5%".
    ratio = alarms[f"{PREFIX}-PaymentFailureRatio"]
    assert ratio["Threshold"] == 5.0
    assert "100 * FILL(failed, 0) / attempts" in [q for q in ratio["Metrics"] if q.get("ReturnData")][0]["Expression"]

    # Record access errors: only the non-routine reasons (not "verification required"/"expired").
    records = alarms[f"{PREFIX}-MedicalRecordAccessErrors"]
    stats = [q["MetricStat"]["Metric"] for q in records["Metrics"] if "MetricStat" in q]
    assert {(m["Namespace"], m["MetricName"]) for m in stats} == {("PHB/MedicalRecords", "MedicalRecordAccessError")}
    assert sorted(d["Value"] for m in stats for d in m["Dimensions"]) == ["invalid_token", "no_consent", "unavailable"]
    assert records["Threshold"] == THRESHOLDS.record_access_errors
    booking = alarms[f"{PREFIX}-BookingFailures"]
    assert (booking["Namespace"], booking["MetricName"]) == ("PHB/Appointments", "BookingFailure")
    assert booking["Threshold"] == THRESHOLDS.booking_failures

    # 5xx rate and p99 latency, per service.
    for service in ALARMED_SERVICES:
        rate = alarms[f"{PREFIX}-{service}-5xxRate"]
        assert (rate["MetricName"], rate["Statistic"], rate["Threshold"]) == ("5XXError", "Average", 0.05)
        assert rate["Dimensions"] == [{"Name": "Service", "Value": service}]
        latency = alarms[f"{PREFIX}-{service}-p99Latency"]
        assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == ("Latency", "p99", 2000)
        assert latency["Dimensions"] == [{"Name": "Service", "Value": service}]
        assert (latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (3, 2)


def _metrics_of(body: dict) -> set[str]:
    names: set[str] = set()
    for widget in body["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            if isinstance(row[0], str):
                names.add(row[1])
            elif "expression" in row[0]:
                expression = row[0]["expression"]
                names.update(n for n in ("OTPVerificationFailure", "RequestCount", "BookingFailure", "PaymentFailure")
                             if f'MetricName="{n}"' in expression)
    return names


def test_three_dashboards_are_built_from_our_metrics_and_alarms():
    cloudwatch = aws_client("cloudwatch")
    names = {d["DashboardName"] for d in cloudwatch.list_dashboards(DashboardNamePrefix=f"{PREFIX}-")["DashboardEntries"]}
    expected = {f"{PREFIX}-medical-records", f"{PREFIX}-appointments-payments", f"{PREFIX}-womens-health"}
    assert expected <= names
    bodies = {n: json.loads(cloudwatch.get_dashboard(DashboardName=n)["DashboardBody"]) for n in expected}

    assert {"OTPVerificationFailure", "MedicalRecordAccess", "MedicalRecordAccessError", "Latency", "4XXError"} <= \
        _metrics_of(bodies[f"{PREFIX}-medical-records"])
    assert {"BookingCompleted", "BookingFailure", "PaymentSuccess", "PaymentFailure", "RequestCount"} <= \
        _metrics_of(bodies[f"{PREFIX}-appointments-payments"])
    assert {"TrackingWriteQueued", "RequestCount", "5XXError", "Latency"} <= _metrics_of(bodies[f"{PREFIX}-womens-health"])

    alarm_arns = {a["AlarmArn"] for a in _alarms().values()}
    for body in bodies.values():
        widgets = [w for w in body["widgets"] if w["type"] == "alarm"]
        assert widgets and set(widgets[0]["properties"]["alarms"]) <= alarm_arns
        namespaces = {row[0] for w in body["widgets"] for row in w.get("properties", {}).get("metrics", [])
                      if isinstance(row[0], str)}
        assert namespaces and all(ns.startswith("PHB/") for ns in namespaces)


def test_provisioning_reports_and_repairs_alarm_drift():
    cloudwatch = aws_client("cloudwatch")
    name = f"{PREFIX}-BookingFailures"
    found = _alarms()[name]
    keep = ("AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "MetricName",
            "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods", "ComparisonOperator",
            "TreatMissingData")
    cloudwatch.put_metric_alarm(**{k: found[k] for k in keep}, Threshold=500.0)
    try:
        with pytest.raises(CommandError):
            call_command("provision_aws", "--check", stdout=open("/dev/null", "w"))
    finally:
        call_command("provision_aws", stdout=open("/dev/null", "w"))
    assert _alarms()[name]["Threshold"] == THRESHOLDS.booking_failures
    call_command("provision_aws", "--check", stdout=open("/dev/null", "w"))


def _api_views() -> list[tuple[str, object]]:
    from django.urls import URLResolver, get_resolver

    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif (prefix + str(pattern.pattern)).startswith("api/"):
                found.append((prefix + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_app_serving_the_api_is_a_service_with_its_own_alarms():
    """Prescriptions and pharmacy requests were counted as Service "other", and no 5xx-rate or
    latency alarm watched them or the admissions API."""
    from django.test import RequestFactory
    from django.urls import ResolverMatch

    from phb.observability.requests import service_of

    services: dict[str, str] = {}
    for route, view in _api_views():
        module = getattr(getattr(view, "cls", None) or getattr(view, "view_class", None) or view, "__module__", "")
        if module.startswith(("drf_spectacular.", "phb.")):  # the API description, the client-error reports
            continue
        request = RequestFactory().get("/")
        request.resolver_match = ResolverMatch(view, (), {}, route=route)
        services[route] = service_of(request)
    assert {"prescriptions", "pharmacies", "admissions"} <= set(services.values())
    assert not [route for route, service in services.items() if service not in ALARMED_SERVICES]

    alarms = _alarms()
    for service in set(services.values()):
        assert f"{PREFIX}-{service}-5xxRate" in alarms
        assert f"{PREFIX}-{service}-p99Latency" in alarms


def test_failed_emails_raise_an_alarm():
    alarm = _alarms()[f"{PREFIX}-EmailDeliveryFailures"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == \
        ("PHB/Notifications", "EmailDeliveryFailure", "Sum")
    assert alarm["Dimensions"] == []  # the roll-up over every kind of email
    assert (alarm["Threshold"], alarm["Period"]) == (THRESHOLDS.email_failures, THRESHOLDS.email_failures_period_s)
    assert alarm["AlarmActions"] == [_topic_arn()]

"""Every alarm threshold, alarm and dashboard of the platform, in this one module.

Thresholds come from the seed (section 2, "CloudWatch Alarms for PHB") where it gives one, and
are marked as our choice where it does not. ``docs/observability.md`` lists them; a test reads
them back from the emulator after ``provision_aws``.

Metrics (``<root>`` is ``CLOUDWATCH_METRICS_NAMESPACE``, ``PHB`` by default):

=============================  =====================================  =====================
namespace                      metric                                 dimensions
=============================  =====================================  =====================
<root>/API                     Latency, RequestCount, 4XXError,       Route+Method; Service;
                               5XXError                               none (whole API)
<root>/Payments                PaymentSuccess, PaymentFailure         Reason; none
<root>/Auth                    OTPVerificationFailure (login codes)   Purpose; none
<root>/MedicalRecords          MedicalRecordAccess                    none
                               MedicalRecordAccessError               Reason; none
                               OTPVerificationFailure                 Purpose; none
<root>/Appointments            BookingCompleted, BookingFailure       Priority / Reason; none
<root>/Tracking                TrackingWriteQueued                    none
                               OTPVerificationFailure                 Purpose; none
<root>/Notifications           EmailDeliveryFailure                   Kind; none
<root>/Observability           MetricsDropped, LogEventsDropped       none
=============================  =====================================  =====================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API_AREA = "API"

# Apps that own API views; a request to anything else is Service "other".
KNOWN_SERVICES = ("accounts", "hospitals", "records", "appointments", "payments", "tracking", "storage", "admissions",
                  "prescriptions", "pharmacies", "phb")
# Services that get their own 5xx-rate and p99-latency alarms: every app that serves the API.
ALARMED_SERVICES = ("accounts", "hospitals", "records", "appointments", "payments", "tracking", "storage",
                    "admissions", "prescriptions", "pharmacies")
# Areas whose code checks publish OTPVerificationFailure (login codes, the Django admin's sign-in
# and password-reset codes, medical-records and clinician-access codes, women's health codes). The code-failure alarm sums all of them.
CODE_FAILURE_AREAS = ("Auth", "MedicalRecords", "Tracking")
# MedicalRecordAccessError reasons the alarm sums: a token that is not the caller's, a clinician
# without live consent, the session store or S3 failing. "verification_required" and "expired"
# are the gate doing its job on everyday traffic and are left to the dashboard
# (records.gate.ACCESS_ERROR_REASONS lists them all).
ALARMED_RECORD_ACCESS_ERRORS = ("invalid_token", "no_consent", "unavailable")


@dataclass(frozen=True)
class Thresholds:
    # Seed: PaymentFailure Sum > 5 over one 300 s period.
    payment_failures: int = 5
    payment_failures_period_s: int = 300
    # Seed: "Payment failure rate > 5%"; our choice: only with at least 20 attempts in 5 min.
    payment_failure_rate_pct: float = 5.0
    payment_failure_rate_min_attempts: int = 20
    # Seed: "OTP verification failures > 10/minute", over every purpose.
    code_failures_per_minute: int = 10
    # Seed names the alarm; our threshold: more than 10 in 5 minutes, over the reasons in
    # ALARMED_RECORD_ACCESS_ERRORS (a wrong token or a missing consent happens now and then in
    # normal use, so a single one must not page anyone).
    record_access_errors: int = 10
    record_access_errors_period_s: int = 300
    # Seed names the alarm; our threshold: more than 5 failed bookings in 5 minutes.
    booking_failures: int = 5
    booking_failures_period_s: int = 300
    # Our choice: more than 2 emails the mail server did not take in 5 minutes (sign-in codes
    # travel by email: a mail outage stops sign-ins, and at night few are tried).
    email_failures: int = 2
    email_failures_period_s: int = 300
    # Our choice, per service: 5xx above 5 % of requests, or p99 latency above 2 s, in 2 of 3
    # five-minute periods.
    server_error_rate: float = 0.05
    p99_latency_ms: float = 2000.0
    service_period_s: int = 300
    service_evaluation_periods: int = 3
    service_datapoints_to_alarm: int = 2


THRESHOLDS = Thresholds()


def _ns(root: str, area: str) -> str:
    return f"{root}/{area}"


def _metric_stat(query_id: str, namespace: str, name: str, *, period: int, stat: str = "Sum",
                 dimensions: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions or []},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": False,
    }


def _sum_of(queries: list[dict[str, Any]], *, label: str, threshold: float) -> dict[str, Any]:
    """An alarm over the sum of several series (missing data counts as 0): more than ``threshold``."""
    return {
        "Metrics": [
            *queries,
            {"Id": "total", "Expression": " + ".join(f"FILL({q['Id']}, 0)" for q in queries), "Label": label,
             "ReturnData": True},
        ],
        "EvaluationPeriods": 1, "Threshold": float(threshold),
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
    }


def alarm_definitions(*, root: str, prefix: str, topic_arn: str) -> list[dict[str, Any]]:
    """``put_metric_alarm`` arguments for every alarm (without tags)."""
    t = THRESHOLDS
    actions = {"ActionsEnabled": True, "AlarmActions": [topic_arn], "OKActions": [topic_arn]}
    count_alarm = {"Statistic": "Sum", "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                   "TreatMissingData": "notBreaching", "Dimensions": []}
    alarms: list[dict[str, Any]] = [
        {
            "AlarmName": f"{prefix}-HighPaymentFailureRate",
            "AlarmDescription": f"More than {t.payment_failures} failed payments in "
                                f"{t.payment_failures_period_s // 60} minutes.",
            "Namespace": _ns(root, "Payments"), "MetricName": "PaymentFailure",
            "Period": t.payment_failures_period_s, "Threshold": float(t.payment_failures),
            **count_alarm, **actions,
        },
        {
            "AlarmName": f"{prefix}-PaymentFailureRatio",
            "AlarmDescription": f"More than {t.payment_failure_rate_pct:g} % of payments failed in 5 minutes "
                                f"(at least {t.payment_failure_rate_min_attempts} attempts).",
            "Metrics": [
                _metric_stat("failed", _ns(root, "Payments"), "PaymentFailure", period=300),
                _metric_stat("succeeded", _ns(root, "Payments"), "PaymentSuccess", period=300),
                {
                    "Id": "attempts",
                    "Expression": "FILL(failed, 0) + FILL(succeeded, 0)",
                    "Label": "Payment attempts",
                    "ReturnData": False,
                },
                {
                    "Id": "rate",
                    "Expression": f"IF(attempts >= {t.payment_failure_rate_min_attempts}, "
                                  "100 * FILL(failed, 0) / attempts, 0)",
                    "Label": "Payment failure rate (%)",
                    "ReturnData": True,
                },
            ],
            "EvaluationPeriods": 1, "Threshold": t.payment_failure_rate_pct,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching", **actions,
        },
        {
            "AlarmName": f"{prefix}-HighCodeVerificationFailures",
            "AlarmDescription": f"More than {t.code_failures_per_minute} one-time code failures in a minute "
                                "(login, medical records, clinician access, women's health).",
            **_sum_of(
                [_metric_stat(f"m{i}", _ns(root, area), "OTPVerificationFailure", period=60)
                 for i, area in enumerate(CODE_FAILURE_AREAS)],
                label="Code verification failures", threshold=t.code_failures_per_minute,
            ),
            **actions,
        },
        {
            "AlarmName": f"{prefix}-MedicalRecordAccessErrors",
            "AlarmDescription": f"More than {t.record_access_errors} medical record access errors "
                                f"({', '.join(ALARMED_RECORD_ACCESS_ERRORS)}) in "
                                f"{t.record_access_errors_period_s // 60} minutes.",
            **_sum_of(
                [_metric_stat(f"r{i}", _ns(root, "MedicalRecords"), "MedicalRecordAccessError",
                              period=t.record_access_errors_period_s, dimensions=[{"Name": "Reason", "Value": reason}])
                 for i, reason in enumerate(ALARMED_RECORD_ACCESS_ERRORS)],
                label="Medical record access errors", threshold=t.record_access_errors,
            ),
            **actions,
        },
        {
            "AlarmName": f"{prefix}-BookingFailures",
            "AlarmDescription": f"More than {t.booking_failures} failed bookings in "
                                f"{t.booking_failures_period_s // 60} minutes.",
            "Namespace": _ns(root, "Appointments"), "MetricName": "BookingFailure",
            "Period": t.booking_failures_period_s, "Threshold": float(t.booking_failures),
            **count_alarm, **actions,
        },
        {
            "AlarmName": f"{prefix}-EmailDeliveryFailures",
            "AlarmDescription": f"More than {t.email_failures} emails (sign-in codes among them) refused or not "
                                f"answered by the mail server in {t.email_failures_period_s // 60} minutes.",
            "Namespace": _ns(root, "Notifications"), "MetricName": "EmailDeliveryFailure",
            "Period": t.email_failures_period_s, "Threshold": float(t.email_failures),
            **count_alarm, **actions,
        },
    ]
    for service in ALARMED_SERVICES:
        per_service = {
            "Namespace": _ns(root, API_AREA),
            "Dimensions": [{"Name": "Service", "Value": service}],
            "Period": t.service_period_s,
            "EvaluationPeriods": t.service_evaluation_periods,
            "DatapointsToAlarm": t.service_datapoints_to_alarm,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            **actions,
        }
        alarms.append({
            "AlarmName": f"{prefix}-{service}-5xxRate",
            "AlarmDescription": f"{service}: more than {t.server_error_rate:.0%} of requests answered 5xx.",
            "MetricName": "5XXError", "Statistic": "Average", "Threshold": t.server_error_rate,
            **per_service,
        })
        alarms.append({
            "AlarmName": f"{prefix}-{service}-p99Latency",
            "AlarmDescription": f"{service}: p99 latency above {t.p99_latency_ms:g} ms.",
            "MetricName": "Latency", "ExtendedStatistic": "p99", "Threshold": t.p99_latency_ms,
            "EvaluateLowSampleCountPercentile": "ignore",
            **per_service,
        })
    return alarms


# --- Dashboards ---------------------------------------------------------------------------------
def _widget(title: str, metrics: list[list[Any]], *, region: str, x: int, y: int, width: int = 12,
            height: int = 6, stat: str = "Sum", period: int = 300, view: str = "timeSeries",
            y_label: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title, "region": region, "view": view, "stacked": False, "stat": stat, "period": period,
        "metrics": metrics,
    }
    if y_label:
        properties["yAxis"] = {"left": {"label": y_label, "showUnits": False}}
    return {"type": "metric", "x": x, "y": y, "width": width, "height": height, "properties": properties}


def _text(markdown: str, *, y: int) -> dict[str, Any]:
    return {"type": "text", "x": 0, "y": y, "width": 24, "height": 2, "properties": {"markdown": markdown}}


def _alarms_widget(title: str, arns: list[str], *, y: int) -> dict[str, Any]:
    return {"type": "alarm", "x": 0, "y": y, "width": 24, "height": 3,
            "properties": {"title": title, "alarms": arns, "sortBy": "stateUpdatedTimestamp"}}


def _route_success_rate(api: str, route: str, label: str, ident: str) -> list[list[Any]]:
    """100 * (1 - 4xx rate - 5xx rate) of one route, from the request metrics."""
    dims = ["Route", route, "Method", "POST"]
    return [
        [api, "4XXError", *dims, {"id": f"{ident}4", "stat": "Average", "visible": False}],
        [api, "5XXError", *dims, {"id": f"{ident}5", "stat": "Average", "visible": False}],
        [{"expression": f"100 * (1 - FILL({ident}4, 0) - FILL({ident}5, 0))", "label": label, "id": ident}],
    ]


def dashboard_definitions(*, root: str, prefix: str, region: str, alarm_arn) -> dict[str, dict[str, Any]]:
    """Dashboard name -> body. ``alarm_arn(name)`` gives the ARN of one of our alarms."""
    api = _ns(root, API_AREA)
    records = _ns(root, "MedicalRecords")
    auth = _ns(root, "Auth")
    payments = _ns(root, "Payments")
    appointments = _ns(root, "Appointments")
    tracking = _ns(root, "Tracking")

    def service(name: str, metric: str, **options: Any) -> list[Any]:
        return [api, metric, "Service", name, options] if options else [api, metric, "Service", name]

    medical = {
        "widgets": [
            _text("## Medical records\nCode checks, record access and its latency. Source: `phb/observability/"
                  "definitions.py`.", y=0),
            _widget("Code verification success rate (%)", [
                *_route_success_rate(api, "/api/patient/medical-record/verify-otp/", "Medical records code", "mr"),
                *_route_success_rate(api, "/api/medical-records/verify-access/", "Clinician access code", "ca"),
                *_route_success_rate(api, "/api/verify-login-otp/", "Login code", "lg"),
            ], region=region, x=0, y=2, stat="Average", y_label="%"),
            _widget("Code verification failures by purpose", [
                [{"expression": f"SEARCH('{{{records},Purpose}} MetricName=\"OTPVerificationFailure\"', 'Sum', 300)",
                  "id": "mrp"}],
                [{"expression": f"SEARCH('{{{auth},Purpose}} MetricName=\"OTPVerificationFailure\"', 'Sum', 300)",
                  "id": "lgp"}],
            ], region=region, x=12, y=2),
            _widget("Medical record access and errors", [
                [records, "MedicalRecordAccess", {"label": "Record reads"}],
                [records, "MedicalRecordAccessError", {"label": "Access refusals and errors (all reasons)"}],
                [{"expression": f"SEARCH('{{{records},Reason}} MetricName=\"MedicalRecordAccessError\"', 'Sum', 300)",
                  "id": "mre", "label": "By reason"}],
            ], region=region, x=0, y=8),
            _widget("Medical record API latency (ms)", [
                service("records", "Latency", stat="p50", label="p50"),
                service("records", "Latency", stat="p90", label="p90"),
                service("records", "Latency", stat="p99", label="p99"),
            ], region=region, x=12, y=8, stat="p99", y_label="ms"),
            _widget("Failed authentication attempts", [
                [auth, "OTPVerificationFailure", "Purpose", "login", {"label": "Wrong login codes"}],
                [api, "4XXError", "Route", "/api/login/", "Method", "POST", {"label": "Refused logins (4xx)"}],
                [api, "4XXError", "Route", "/api/hospitals/admin/login/", "Method", "POST",
                 {"label": "Refused hospital admin logins (4xx)"}],
            ], region=region, x=0, y=14),
            _widget("Medical record API errors", [
                service("records", "5XXError", label="5xx"),
                service("records", "4XXError", label="4xx"),
            ], region=region, x=12, y=14),
            _alarms_widget("Alarms", [alarm_arn("MedicalRecordAccessErrors"), alarm_arn("HighCodeVerificationFailures"),
                                      alarm_arn("records-5xxRate"), alarm_arn("records-p99Latency")], y=20),
        ]
    }
    booking = {
        "widgets": [
            _text("## Appointments and payments\nBookings, payments and the booking peak hours.", y=0),
            _widget("Booking completion rate (%)", [
                [appointments, "BookingCompleted", {"id": "done", "visible": False}],
                [appointments, "BookingFailure", {"id": "failed", "visible": False}],
                [{"expression": "100 * FILL(done, 0) / (FILL(done, 0) + FILL(failed, 0))",
                  "label": "Completed / attempted", "id": "rate"}],
            ], region=region, x=0, y=2, y_label="%"),
            _widget("Bookings", [
                [appointments, "BookingCompleted", {"label": "Completed"}],
                [appointments, "BookingFailure", {"label": "Failed"}],
                [{"expression": f"SEARCH('{{{appointments},Reason}} MetricName=\"BookingFailure\"', 'Sum', 300)",
                  "id": "why"}],
            ], region=region, x=12, y=2),
            _widget("Payment success / failure", [
                [payments, "PaymentSuccess", {"id": "ok", "label": "Succeeded"}],
                [payments, "PaymentFailure", {"id": "ko", "label": "Failed"}],
                [{"expression": "100 * FILL(ko, 0) / (FILL(ok, 0) + FILL(ko, 0))", "label": "Failure rate (%)",
                  "id": "ratio", "yAxis": "right"}],
            ], region=region, x=0, y=8),
            _widget("Payment failures by reason", [
                [{"expression": f"SEARCH('{{{payments},Reason}} MetricName=\"PaymentFailure\"', 'Sum', 300)",
                  "id": "reasons"}],
            ], region=region, x=12, y=8),
            _widget("Booking traffic per hour (peak hours)", [
                service("appointments", "RequestCount", label="Appointments API"),
                service("payments", "RequestCount", label="Payments API"),
            ], region=region, x=0, y=14, period=3600, view="bar"),
            _widget("Latency p99 (ms)", [
                service("appointments", "Latency", stat="p99", label="Appointments"),
                service("payments", "Latency", stat="p99", label="Payments"),
            ], region=region, x=12, y=14, stat="p99", y_label="ms"),
            _alarms_widget("Alarms", [alarm_arn("HighPaymentFailureRate"), alarm_arn("PaymentFailureRatio"),
                                      alarm_arn("BookingFailures"), alarm_arn("appointments-5xxRate"),
                                      alarm_arn("payments-5xxRate"), alarm_arn("payments-p99Latency")], y=20),
        ]
    }
    womens = {
        "widgets": [
            _text("## Women's health\nAPI volume per endpoint, sync failures and engagement.", y=0),
            _widget("API call volume by endpoint", [
                [{"expression": f"SEARCH('{{{api},Method,Route}} MetricName=\"RequestCount\" womens', "
                                "'Sum', 300)", "id": "calls"}],
            ], region=region, x=0, y=2),
            _widget("Data sync failures", [
                [tracking, "TrackingWriteQueued", {"label": "Writes queued (store unreachable)"}],
                service("tracking", "5XXError", label="Server errors (5xx)"),
            ], region=region, x=12, y=2),
            _widget("Engagement: entries saved per hour", [
                [{"expression": f"SEARCH('{{{api},Method,Route}} MetricName=\"RequestCount\" Method=\"POST\" "
                                "womens', 'Sum', 3600)", "id": "writes"}],
            ], region=region, x=0, y=8, period=3600, view="bar"),
            _widget("Women's health metrics", [
                [{"expression": f"SEARCH('{{{tracking}}}', 'Sum', 300)", "id": "all"}],
            ], region=region, x=12, y=8),
            _widget("Latency and errors", [
                service("tracking", "Latency", stat="p99", label="p99 latency (ms)"),
                service("tracking", "4XXError", stat="Sum", label="4xx", yAxis="right"),
            ], region=region, x=0, y=14, width=24, stat="p99"),
            _alarms_widget("Alarms", [alarm_arn("tracking-5xxRate"), alarm_arn("tracking-p99Latency"),
                                      alarm_arn("HighCodeVerificationFailures")], y=20),
        ]
    }
    return {
        f"{prefix}-medical-records": medical,
        f"{prefix}-appointments-payments": booking,
        f"{prefix}-womens-health": womens,
    }

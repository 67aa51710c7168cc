"""AWS resources of the appointment scheduler (seed, section 8).

- ``ml-training-data``: anonymised scheduling events (JSON Lines partitioned by date), SSE-KMS
  with the ML key, versioned, public access blocked, to STANDARD_IA after 30 days and Glacier
  Instant Retrieval after 180 (``fit_scheduling_simulator`` reads every exported day: an object in
  GLACIER could not be read without a restore); noncurrent versions expire after a year;
- ``ml-models``: the scheduler's ONNX policies and manifests, SSE-KMS, versioned, noncurrent
  versions to STANDARD_IA after 30 days (a rollback target stays at hand);
- an alarm when the share of recommendations answered by the fallback heuristic is high.
"""

from __future__ import annotations

from django.conf import settings

from phb.aws.policies import deny_insecure_and_unencrypted
from phb.aws.provisioning import Bucket, KmsKey, Resource

FALLBACK_ALARM_PERCENT = 20.0
FALLBACK_ALARM_MIN_RECOMMENDATIONS = 20
METRIC_AREA = "Scheduler"


def ml_tags(data_type: str) -> dict[str, str]:
    return {**settings.AWS_RESOURCE_TAGS, "DataType": data_type, "DataClassification": "Anonymised",
            "CostCenter": "MachineLearning"}


def training_data_bucket() -> Bucket:
    name = settings.ML_TRAINING_DATA_BUCKET
    return Bucket(
        name=name, versioning=True, encryption="aws:kms", kms_alias=settings.ML_KMS_ALIAS, block_public_access=True,
        tags=ml_tags("SchedulingEvents"),
        lifecycle_rules=[{
            "ID": "ColderWithAge", "Status": "Enabled", "Filter": {"Prefix": ""},
            "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 180, "StorageClass": "GLACIER_IR"}],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 365},
        }],
        policy=deny_insecure_and_unencrypted(name, encryption="aws:kms"),
    )


def models_bucket() -> Bucket:
    name = settings.ML_MODELS_BUCKET
    return Bucket(
        name=name, versioning=True, encryption="aws:kms", kms_alias=settings.ML_KMS_ALIAS, block_public_access=True,
        tags=ml_tags("Models"),
        lifecycle_rules=[{
            "ID": "OlderVersionsInfrequentAccess", "Status": "Enabled", "Filter": {"Prefix": ""},
            "NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "STANDARD_IA"}],
        }],
        policy=deny_insecure_and_unencrypted(name, encryption="aws:kms"),
    )


def fallback_alarm() -> Resource:
    from phb.observability.resources import MetricAlarm, topic_arn

    root = settings.CLOUDWATCH_METRICS_NAMESPACE
    namespace = f"{root}/{METRIC_AREA}"

    def stat(query_id: str, name: str) -> dict:
        return {"Id": query_id, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": []},
                                              "Period": 900, "Stat": "Sum"}, "ReturnData": False}

    arn = topic_arn(settings.CLOUDWATCH_ALERT_TOPIC_NAME)
    name = f"{settings.AWS_NAME_PREFIX}-SchedulerFallbackRate"
    spec = {
        "AlarmName": name,
        "AlarmDescription": f"More than {FALLBACK_ALARM_PERCENT:g} % of scheduling recommendations came from the "
                            "fallback heuristic in 15 minutes (model missing, failing or slow).",
        "Metrics": [
            stat("fallbacks", "SchedulerFallback"), stat("recommendations", "SchedulerRecommendation"),
            {"Id": "rate", "Label": "Fallback rate (%)", "ReturnData": True,
             "Expression": f"IF(FILL(recommendations, 0) >= {FALLBACK_ALARM_MIN_RECOMMENDATIONS}, "
                           "100 * FILL(fallbacks, 0) / recommendations, 0)"},
        ],
        "EvaluationPeriods": 1, "Threshold": FALLBACK_ALARM_PERCENT, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching", "ActionsEnabled": True, "AlarmActions": [arn], "OKActions": [arn],
    }
    return MetricAlarm(name=name, spec=spec, tags=dict(settings.AWS_RESOURCE_TAGS))


def resources() -> list[Resource]:
    out: list[Resource] = [
        KmsKey(name=settings.ML_KMS_ALIAS, description="PHB machine learning: training data and models (SSE-KMS)",
               tags=ml_tags("MachineLearning")),
        training_data_bucket(),
        models_bucket(),
    ]
    if settings.CLOUDWATCH_ALARMS_ENABLED:
        out.append(fallback_alarm())
    return out

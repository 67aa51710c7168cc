"""The stack's name, its resources' names and tags, and the not-found test for AWS errors."""

from __future__ import annotations

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.provisioning import _error_code

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances


def stack() -> str:
    return settings.DEPLOY_STACK_NAME


def agent_log_group_name() -> str:
    return f"{settings.CLOUDWATCH_LOG_GROUP_PREFIX}/ec2"


def names() -> dict[str, str]:
    s = stack()
    return {
        "alb_sg": f"{s}-alb", "app_sg": f"{s}-app", "efs_sg": f"{s}-efs",
        "role": f"{s}-instance", "profile": f"{s}-instance",
        "dlm_role": f"{s}-snapshots",
        "launch_template": f"{s}-api", "target_group": f"{s}-api"[:32], "load_balancer": f"{s}-alb"[:32],
        "asg": f"{s}-api", "scaling_policy": f"{s}-api-cpu-target", "efs": f"{s}-shared",
        "snapshot_policy": f"{s}-data-volumes", "cpu_alarm": f"{s}-ec2-cpu-high",
    }


def _tags(**extra: str) -> dict[str, str]:
    return {**settings.AWS_RESOURCE_TAGS, "Stack": stack(), **extra}


def _not_found(exc: ClientError, *codes: str) -> bool:
    code = _error_code(exc)
    return code in codes or "NotFound" in code

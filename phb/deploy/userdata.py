"""Fill ``deploy/cloud-init/user-data.yaml`` for the launch template.

The template holds ``@@NAME@@`` markers; values are checked against a strict character set so
nothing can break out of the YAML block or the environment file it writes. User-data never
holds a secret: the instance reads its environment from SSM Parameter Store on boot.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "cloud-init" / "user-data.yaml"
MAX_USER_DATA_BYTES = 16 * 1024  # EC2's limit, before base64
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._:/@+=,-]*")
_RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MARKER = re.compile(r"@@([A-Z0-9_]+)@@")


class UserDataError(ValueError):
    pass


@dataclass(frozen=True)
class UserDataValues:
    environment: str
    region: str
    release: str
    release_source: str
    parameter_path: str
    log_group: str
    release_sha256: str = ""
    data_volume_id: str = ""
    data_device: str = "sdf"
    logs_device: str = "sdg"
    efs_id: str = ""
    efs_access_point: str = ""
    local_services: str = "0"  # "1": PostgreSQL and Redis on the instance (one-instance phase)
    # The CloudWatch agent's metrics: under the service's own namespace, the only ones the role may write.
    agent_namespace: str = "PHB/EC2"


def release_source(release: str) -> str:
    if settings.DEPLOY_RELEASE_SOURCE:
        return settings.DEPLOY_RELEASE_SOURCE
    return f"s3://{settings.DEPLOY_RELEASES_BUCKET}/releases/phb-{release}.tar.gz"


def user_data_values(*, release: str, efs_id: str = "", efs_access_point: str = "") -> UserDataValues:
    from phb.aws.compute import agent_log_group_name

    return UserDataValues(
        environment=settings.PHB_ENVIRONMENT,
        region=settings.AWS_REGION,
        release=release,
        release_source=release_source(release),
        release_sha256=settings.DEPLOY_RELEASE_SHA256,
        parameter_path=settings.DEPLOY_PARAMETER_PATH,
        log_group=agent_log_group_name(),
        data_volume_id=settings.DEPLOY_DATA_VOLUME_ID,
        logs_device="sdg" if settings.DEPLOY_LOGS_VOLUME_GIB else "",
        efs_id=efs_id,
        efs_access_point=efs_access_point,
        local_services="1" if settings.DEPLOY_LOCAL_SERVICES else "0",
        agent_namespace=f"{settings.CLOUDWATCH_METRICS_NAMESPACE}/EC2",
    )


def render_user_data(values: UserDataValues, *, template: Path = TEMPLATE) -> str:
    if not _RELEASE.fullmatch(values.release):
        raise UserDataError(f"release {values.release!r}: letters, digits, '.', '_' and '-' only")
    fields = {k.upper(): v for k, v in asdict(values).items()}
    for key, value in fields.items():
        if not _SAFE_VALUE.fullmatch(value):
            raise UserDataError(f"{key.lower()} holds characters that are not allowed in user-data: {value!r}")
    text = template.read_text()
    unknown = sorted(set(_MARKER.findall(text)) - set(fields))
    if unknown:
        raise UserDataError(f"the template names values nobody fills: {', '.join(unknown)}")
    rendered = _MARKER.sub(lambda m: fields[m.group(1)], text)
    if len(rendered.encode()) > MAX_USER_DATA_BYTES:
        raise UserDataError(f"user-data is {len(rendered.encode())} bytes; EC2 accepts {MAX_USER_DATA_BYTES}")
    return rendered

"""The compute stack on EC2 (seed sections 1, 5 and 6), converged by ``manage.py provision_compute``.

Security groups (ALB open on 80/443, instances on 8000 from the ALB only, EFS on 2049 from the
instances), the instance role with the generated policy (``phb.aws.iam``) and its instance
profile, optionally an encrypted EFS file system with lifecycle to Infrequent Access after 30
days, the launch template carrying ``deploy/cloud-init/user-data.yaml``, an ALB with a target
group whose health check hits ``/readyz``, an Auto Scaling group (1-4 instances) with CPU target
tracking, the EBS snapshot lifecycle policy (7 daily, 4 weekly, 12 monthly) and the seed's
"EC2 CPU > 80%" alarm. Same contract as ``phb.aws.provisioning``: ``ensure(check=True)``
reports, ``ensure(check=False)`` creates and converges.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from phb.aws.compute.alarms import cpu_alarm_spec
from phb.aws.compute.instances import (
    DATA_DEVICE,
    LOGS_DEVICE,
    SSM_CORE_POLICY,
    AutoScalingGroup,
    InstanceProfile,
    LaunchTemplate,
    ReleaseArtifact,
    RolePolicyAttachment,
    block_device_mappings,
    image_id,
    instance_refresh_request,
    launch_template_data,
    start_instance_refresh,
)
from phb.aws.compute.load_balancer import (
    DEREGISTRATION_DELAY_SECONDS,
    TLS_POLICY,
    LoadBalancer,
    TargetGroup,
    health_check,
    target_group_arn,
)
from phb.aws.compute.names import _tags, agent_log_group_name, names, stack
from phb.aws.compute.network import SecurityGroup, instance_subnets, network, security_group_id
from phb.aws.compute.volumes import (
    DLM_SERVICE_POLICY,
    DLM_TRUST_POLICY,
    EFS_LIFECYCLE,
    SNAPSHOT_SCHEDULES,
    SNAPSHOT_TAG,
    EfsFileSystem,
    EmulatorLacksService,
    SnapshotPolicy,
    VolumeTags,
    efs_file_system_id,
    snapshot_policy_details,
)
from phb.aws.provisioning import Bucket, IamRole, LogGroup, Resource

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances

__all__ = [
    "DATA_DEVICE", "DEREGISTRATION_DELAY_SECONDS", "DLM_SERVICE_POLICY", "DLM_TRUST_POLICY", "EFS_LIFECYCLE",
    "LOGS_DEVICE", "SNAPSHOT_SCHEDULES", "SNAPSHOT_TAG", "SSM_CORE_POLICY", "TLS_POLICY",
    "AutoScalingGroup", "EfsFileSystem", "EmulatorLacksService", "InstanceProfile", "LaunchTemplate",
    "LoadBalancer", "ReleaseArtifact", "RolePolicyAttachment", "SecurityGroup", "SnapshotPolicy", "TargetGroup",
    "VolumeTags",
    "agent_log_group_name", "block_device_mappings", "compute_resources", "cpu_alarm_spec", "efs_file_system_id",
    "health_check", "image_id", "instance_refresh_request", "instance_subnets", "launch_template_data", "names",
    "network", "security_group_id", "snapshot_policy_details", "stack", "start_instance_refresh",
    "target_group_arn",
]


def compute_resources(*, release: str) -> list[Resource]:
    """Everything ``provision_compute`` converges, in order."""
    from phb.aws.iam import INSTANCE_TRUST_POLICY, PolicyInputs, instance_policy
    from phb.observability.resources import MetricAlarm, topic_arn

    n = names()
    tags = _tags()
    port = settings.DEPLOY_APP_PORT
    out: list[Resource] = [
        LogGroup(name=agent_log_group_name(), retention_days=settings.CLOUDWATCH_LOG_RETENTION_DAYS, tags=tags),
    ]
    if not settings.DEPLOY_RELEASE_SOURCE:
        from phb.deploy.userdata import release_source

        out.append(Bucket(name=settings.DEPLOY_RELEASES_BUCKET, versioning=True, encryption="AES256", tags=tags))
        out.append(ReleaseArtifact(name=release_source(release)))
    out += [
        SecurityGroup(name=n["alb_sg"], description="PHB load balancer: HTTP and HTTPS from anywhere",
                      ingress=[{"port": 80, "cidr": "0.0.0.0/0"}, {"port": 443, "cidr": "0.0.0.0/0"}], tags=tags),
        SecurityGroup(name=n["app_sg"], description="PHB API instances: the app port from the load balancer only",
                      ingress=[{"port": port, "from_group": n["alb_sg"]}], tags=tags),
    ]
    if settings.DEPLOY_EFS_ENABLED:
        out += [
            SecurityGroup(name=n["efs_sg"], description="PHB shared uploads: NFS from the API instances only",
                          ingress=[{"port": 2049, "from_group": n["app_sg"]}], tags=tags),
            EfsFileSystem(name=n["efs"], security_group=n["efs_sg"], tags=tags),
        ]

    def policy() -> dict[str, Any]:
        return instance_policy(PolicyInputs.from_settings(efs_file_system_id=efs_file_system_id()))

    profile = InstanceProfile(name=n["profile"], role=n["role"], managed_policies=[SSM_CORE_POLICY])
    out += [
        IamRole(name=n["role"], assume_role_policy=INSTANCE_TRUST_POLICY, inline_policies={"phb-instance": policy},
                description="PHB API instances: least privilege on the service's own resources", tags=tags),
        profile,
        TargetGroup(name=n["target_group"], port=port, tags=tags),
        LoadBalancer(name=n["load_balancer"], security_group=n["alb_sg"], target_group=n["target_group"],
                     certificate_arn=settings.DEPLOY_CERTIFICATE_ARN, tags=tags),
        LaunchTemplate(
            name=n["launch_template"], tags=tags,
            data=lambda: launch_template_data(release=release, profile_arn=profile.arn(), efs_id=efs_file_system_id()),
        ),
        AutoScalingGroup(
            name=n["asg"], launch_template=n["launch_template"], target_group=n["target_group"],
            min_size=settings.DEPLOY_ASG_MIN, max_size=settings.DEPLOY_ASG_MAX, desired=settings.DEPLOY_ASG_DESIRED,
            cpu_target=settings.DEPLOY_CPU_TARGET_PERCENT, policy_name=n["scaling_policy"],
            tags={**tags, "Name": f"{stack()}-api"},
        ),
    ]
    if settings.DEPLOY_SNAPSHOTS_ENABLED:
        out += [
            IamRole(name=n["dlm_role"], assume_role_policy=DLM_TRUST_POLICY,
                    description="Data Lifecycle Manager: snapshots of the PHB data volume", tags=tags),
            RolePolicyAttachment(role=n["dlm_role"], policy=DLM_SERVICE_POLICY),
            SnapshotPolicy(name=n["snapshot_policy"], role=n["dlm_role"], tags=tags),
        ]
        if settings.DEPLOY_DATA_VOLUME_ID:
            out.append(VolumeTags(name=settings.DEPLOY_DATA_VOLUME_ID, tags={SNAPSHOT_TAG: stack()}))
    topic = topic_arn(settings.CLOUDWATCH_ALERT_TOPIC_NAME) if settings.CLOUDWATCH_ALARMS_ENABLED else None
    out.append(MetricAlarm(name=n["cpu_alarm"], spec=cpu_alarm_spec(topic_arn=topic), tags=tags))
    return out

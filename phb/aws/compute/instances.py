"""The instances: release artifact, profile, launch template and block devices, Auto Scaling group, refresh."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.compute.load_balancer import target_group_arn
from phb.aws.compute.names import _not_found, _tags, names, stack
from phb.aws.compute.network import instance_subnets, security_group_id
from phb.aws.provisioning import Change, Resource, _error_code

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
DATA_DEVICE = "/dev/sdf"
LOGS_DEVICE = "/dev/sdg"


# --- the release artifact ----------------------------------------------------------------------------
@dataclass
class ReleaseArtifact(Resource):
    """The release tarball the instances fetch. Not created here (``git archive`` + ``aws s3 cp``):
    when it is missing, provision_compute stops before any instance could boot without it."""

    kind: ClassVar[str] = "release-artifact"
    order: ClassVar[int] = 21
    name: str  # s3://bucket/key

    def ensure(self, *, check: bool) -> list[Change]:
        bucket, _, key = self.name.removeprefix("s3://").partition("/")
        try:
            aws_client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound", "403"):
                return [Change(self.kind, self.name, "missing", "upload the release first (deploy/README.md)")]
            raise
        return [Change(self.kind, self.name, "unchanged")]


# --- IAM: instance profile and managed policy attachments -------------------------------------------
@dataclass
class InstanceProfile(Resource):
    kind: ClassVar[str] = "instance-profile"
    order: ClassVar[int] = 6
    name: str
    role: str
    managed_policies: list[str] = field(default_factory=list)

    def arn(self) -> str | None:
        try:
            return aws_client("iam").get_instance_profile(InstanceProfileName=self.name)["InstanceProfile"]["Arn"]
        except ClientError as exc:
            if _not_found(exc, "NoSuchEntity"):
                return None
            raise

    def ensure(self, *, check: bool) -> list[Change]:
        iam = aws_client("iam")
        created = False
        try:
            profile = iam.get_instance_profile(InstanceProfileName=self.name)["InstanceProfile"]
        except ClientError as exc:
            if not _not_found(exc, "NoSuchEntity"):
                raise
            if check:
                return [Change(self.kind, self.name, "missing")]
            profile = iam.create_instance_profile(InstanceProfileName=self.name)["InstanceProfile"]
            created = True
        changes = []
        roles = [r["RoleName"] for r in profile.get("Roles", [])]
        change = self._converge(
            check=check, what=f"role {self.role}", differs=self.role not in roles,
            apply=lambda: iam.add_role_to_instance_profile(InstanceProfileName=self.name, RoleName=self.role),
        )
        if change:
            changes.append(change)
        for policy in self.managed_policies:
            change = RolePolicyAttachment(role=self.role, policy=policy).ensure(check=check)[0]
            if change.action != "unchanged" or change.detail:
                changes.append(Change(self.kind, self.name, change.action, f"managed policy {change.detail or policy}"))
        return self._summarise(self.kind, self.name, [] if created else changes, created)


@dataclass
class RolePolicyAttachment(Resource):
    """A managed policy attached to a role (no instance profile)."""

    kind: ClassVar[str] = "role-policy-attachment"
    order: ClassVar[int] = 6
    role: str
    policy: str
    name: str = ""

    def __post_init__(self) -> None:
        self.name = f"{self.role}+{self.policy.rsplit('/', 1)[-1]}"

    def ensure(self, *, check: bool) -> list[Change]:
        iam = aws_client("iam")
        try:
            attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=self.role)["AttachedPolicies"]}
        except ClientError as exc:
            if _not_found(exc, "NoSuchEntity"):
                return [Change(self.kind, self.name, "missing")]
            raise
        if self.policy in attached:
            return [Change(self.kind, self.name, "unchanged")]
        if settings.AWS_ENDPOINT_URL and self.policy.startswith("arn:aws:iam::aws:policy/"):
            try:
                iam.get_policy(PolicyArn=self.policy)
            except ClientError:
                return [Change(self.kind, self.name, "unchanged",
                               "skipped: the local emulator holds no AWS managed policies")]
        if check:
            return [Change(self.kind, self.name, "missing")]
        iam.attach_role_policy(RoleName=self.role, PolicyArn=self.policy)
        return [Change(self.kind, self.name, "created")]


# --- launch template ----------------------------------------------------------------------------------------
def image_id() -> str:
    if settings.DEPLOY_AMI_ID:
        return settings.DEPLOY_AMI_ID
    return aws_client("ssm").get_parameter(Name=settings.DEPLOY_AMI_PARAMETER)["Parameter"]["Value"]



def block_device_mappings() -> list[dict[str, Any]]:
    """Root gp3; a gp3 data volume (only when no persistent one is configured); an st1 logs volume.
    All encrypted (the account's aws/ebs key, usable by the Auto Scaling service role as it is)."""
    mappings: list[dict[str, Any]] = [{
        "DeviceName": "/dev/xvda",
        "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Encrypted": True, "DeleteOnTermination": True},
    }]
    if not settings.DEPLOY_DATA_VOLUME_ID:
        mappings.append({"DeviceName": DATA_DEVICE, "Ebs": {
            "VolumeSize": settings.DEPLOY_DATA_VOLUME_GIB, "VolumeType": "gp3",
            "Iops": settings.DEPLOY_DATA_VOLUME_IOPS, "Throughput": settings.DEPLOY_DATA_VOLUME_THROUGHPUT,
            "Encrypted": True, "DeleteOnTermination": True,
        }})
    if settings.DEPLOY_LOGS_VOLUME_GIB:
        mappings.append({"DeviceName": LOGS_DEVICE, "Ebs": {
            "VolumeSize": settings.DEPLOY_LOGS_VOLUME_GIB, "VolumeType": "st1",
            "Encrypted": True, "DeleteOnTermination": True,
        }})
    return mappings


def launch_template_data(*, release: str, profile_arn: str | None, efs_id: str | None) -> dict[str, Any]:
    from phb.deploy.userdata import render_user_data, user_data_values

    user_data = render_user_data(user_data_values(release=release, efs_id=efs_id or ""))
    app_sg = security_group_id(names()["app_sg"])
    tags = [{"Key": k, "Value": v} for k, v in _tags(Name=f"{stack()}-api", Release=release).items()]
    data: dict[str, Any] = {
        "ImageId": image_id(),
        "InstanceType": settings.DEPLOY_INSTANCE_TYPE,
        "UserData": base64.b64encode(user_data.encode()).decode(),
        "SecurityGroupIds": [app_sg] if app_sg else [],
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled",
                            "InstanceMetadataTags": "disabled"},
        "Monitoring": {"Enabled": True},
        "BlockDeviceMappings": block_device_mappings(),
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": tags},
        ],
    }
    if profile_arn:
        data["IamInstanceProfile"] = {"Arn": profile_arn}
    return data


_COMPARED = ("ImageId", "InstanceType", "UserData", "SecurityGroupIds", "MetadataOptions", "BlockDeviceMappings",
             "IamInstanceProfile", "TagSpecifications", "Monitoring")


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: data.get(k) for k in _COMPARED}
    out["MetadataOptions"] = {k: v for k, v in (data.get("MetadataOptions") or {}).items()
                              if k in ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags")}
    # Tags of what the template launches (the template's own tags are no part of its data).
    out["TagSpecifications"] = sorted(
        [{"ResourceType": spec["ResourceType"], "Tags": sorted(spec.get("Tags", []), key=lambda t: t["Key"])}
         for spec in data.get("TagSpecifications") or [] if spec.get("ResourceType") in ("instance", "volume")],
        key=lambda spec: spec["ResourceType"])
    return json.loads(json.dumps(out, sort_keys=True, default=str))


@dataclass
class LaunchTemplate(Resource):
    """Each change becomes a new version, made the default; the Auto Scaling group launches
    ``$Default``, and ``provision_compute --refresh`` replaces running instances with it."""

    kind: ClassVar[str] = "launch-template"
    order: ClassVar[int] = 40
    name: str
    data: Callable[[], dict[str, Any]]
    tags: dict[str, str] = field(default_factory=dict)

    def current(self) -> dict[str, Any] | None:
        ec2 = aws_client("ec2")
        try:
            versions = ec2.describe_launch_template_versions(LaunchTemplateName=self.name, Versions=["$Default"])
        except ClientError as exc:
            if _not_found(exc, "InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"):
                return None
            raise
        found = versions["LaunchTemplateVersions"]
        return found[0] if found else None

    def ensure(self, *, check: bool) -> list[Change]:
        ec2 = aws_client("ec2")
        current = self.current()
        desired = self.data()
        if current is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            ec2.create_launch_template(
                LaunchTemplateName=self.name, LaunchTemplateData=desired, VersionDescription="provision_compute",
                TagSpecifications=[{"ResourceType": "launch-template",
                                    "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()]}],
            )
            return [Change(self.kind, self.name, "created")]
        found = _comparable(current["LaunchTemplateData"])
        wanted = _comparable(desired)
        differing = sorted(k for k in _COMPARED if found.get(k) != wanted.get(k))

        def new_version() -> None:
            version = ec2.create_launch_template_version(
                LaunchTemplateName=self.name, LaunchTemplateData=desired, VersionDescription="provision_compute",
            )["LaunchTemplateVersion"]["VersionNumber"]
            ec2.modify_launch_template(LaunchTemplateName=self.name, DefaultVersion=str(version))

        change = self._converge(check=check, what=", ".join(differing), differs=bool(differing), apply=new_version)
        return self._summarise(self.kind, self.name, [change] if change else [], False)


# --- auto scaling --------------------------------------------------------------------------------------
@dataclass
class AutoScalingGroup(Resource):
    """Instances from the launch template's default version, registered in the target group and
    replaced when its health check fails; CPU target tracking between min and max."""

    kind: ClassVar[str] = "autoscaling-group"
    order: ClassVar[int] = 50
    name: str
    launch_template: str
    target_group: str
    min_size: int
    max_size: int
    desired: int
    cpu_target: float
    policy_name: str
    subnets: Callable[[], list[str]] = field(default=lambda: instance_subnets())
    grace_seconds: int = 600  # bootstrap: packages, virtualenv, migrations
    tags: dict[str, str] = field(default_factory=dict)

    def _found(self) -> dict[str, Any] | None:
        groups = aws_client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[self.name])["AutoScalingGroups"]
        return groups[0] if groups else None

    def _policy(self) -> dict[str, Any]:
        return {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": float(self.cpu_target),
        }

    def ensure(self, *, check: bool) -> list[Change]:
        asg = aws_client("autoscaling")
        found = self._found()
        tg_arn = target_group_arn(self.target_group)
        created = False
        changes = []
        if found is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            asg.create_auto_scaling_group(
                AutoScalingGroupName=self.name,
                LaunchTemplate={"LaunchTemplateName": self.launch_template, "Version": "$Default"},
                MinSize=self.min_size, MaxSize=self.max_size, DesiredCapacity=self.desired,
                VPCZoneIdentifier=",".join(self.subnets()),
                TargetGroupARNs=[tg_arn] if tg_arn else [],
                HealthCheckType="ELB", HealthCheckGracePeriod=self.grace_seconds,
                TerminationPolicies=["OldestLaunchTemplate", "Default"],
                Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in self.tags.items()],
            )
            created = True
        else:
            differs = (found["MinSize"], found["MaxSize"]) != (self.min_size, self.max_size)
            change = self._converge(
                check=check, what=f"size {found['MinSize']}-{found['MaxSize']} -> {self.min_size}-{self.max_size}",
                differs=differs,
                apply=lambda: asg.update_auto_scaling_group(
                    AutoScalingGroupName=self.name, MinSize=self.min_size, MaxSize=self.max_size),
            )
            if change:
                changes.append(change)
            if tg_arn and tg_arn not in found.get("TargetGroupARNs", []):
                change = self._converge(
                    check=check, what="target group", differs=True,
                    apply=lambda: asg.attach_load_balancer_target_groups(
                        AutoScalingGroupName=self.name, TargetGroupARNs=[tg_arn]),
                )
                if change:
                    changes.append(change)
        policies = asg.describe_policies(AutoScalingGroupName=self.name, PolicyNames=[self.policy_name])["ScalingPolicies"]
        current = policies[0].get("TargetTrackingConfiguration") if policies else None
        differs = current is None or \
            current.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType") != "ASGAverageCPUUtilization" \
            or float(current.get("TargetValue", -1)) != float(self.cpu_target)
        change = self._converge(
            check=check, what=f"CPU target tracking at {self.cpu_target:g}%", differs=differs,
            apply=lambda: asg.put_scaling_policy(
                AutoScalingGroupName=self.name, PolicyName=self.policy_name, PolicyType="TargetTrackingScaling",
                TargetTrackingConfiguration=self._policy(), EstimatedInstanceWarmup=300),
        )
        if change:
            changes.append(change)
        return self._summarise(self.kind, self.name, [] if created else changes, created)


def instance_refresh_request() -> dict[str, Any]:
    """Rolling replacement: new instances come up (and pass /readyz) before old ones go. With a
    persistent data volume (one instance) the old instance must let go of it first: a short outage."""
    if settings.DEPLOY_DATA_VOLUME_ID:
        preferences = {"MinHealthyPercentage": 0, "MaxHealthyPercentage": 100, "InstanceWarmup": 300}
    else:
        preferences = {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "InstanceWarmup": 300}
    return {"AutoScalingGroupName": names()["asg"], "Strategy": "Rolling", "Preferences": preferences}


def start_instance_refresh() -> str | None:
    """The refresh id, or None on a local emulator without instance refreshes."""
    try:
        return aws_client("autoscaling").start_instance_refresh(**instance_refresh_request())["InstanceRefreshId"]
    except Exception:
        if settings.AWS_ENDPOINT_URL:
            return None
        raise

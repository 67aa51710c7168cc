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

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.provisioning import Bucket, Change, IamRole, LogGroup, Resource, _error_code

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
DATA_DEVICE = "/dev/sdf"
LOGS_DEVICE = "/dev/sdg"
SNAPSHOT_TAG = "phb:snapshot"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


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


# --- network ------------------------------------------------------------------------------------
@cache
def _network_for(vpc_id: str, subnets: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    ec2 = aws_client("ec2")
    if not vpc_id:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise RuntimeError("no default VPC: set DEPLOY_VPC_ID and DEPLOY_SUBNET_IDS")
        vpc_id = vpcs[0]["VpcId"]
    if not subnets:
        found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        by_zone: dict[str, str] = {}
        for subnet in sorted(found, key=lambda s: s["SubnetId"]):
            by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        subnets = tuple(by_zone[z] for z in sorted(by_zone))
    return vpc_id, tuple(subnets)


def network() -> tuple[str, list[str]]:
    """(VPC id, subnet ids): the settings, or the account's default VPC and one subnet per zone."""
    vpc_id, subnets = _network_for(settings.DEPLOY_VPC_ID, tuple(settings.DEPLOY_SUBNET_IDS))
    return vpc_id, list(subnets)


def instance_subnets() -> list[str]:
    """Subnets for the instances: all of them, or only those in the persistent data volume's zone
    (an EBS volume attaches only to an instance in its own Availability Zone)."""
    _, subnets = network()
    if not settings.DEPLOY_DATA_VOLUME_ID:
        return subnets
    ec2 = aws_client("ec2")
    zone = ec2.describe_volumes(VolumeIds=[settings.DEPLOY_DATA_VOLUME_ID])["Volumes"][0]["AvailabilityZone"]
    found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    return [s["SubnetId"] for s in found if s["AvailabilityZone"] == zone]


def image_id() -> str:
    if settings.DEPLOY_AMI_ID:
        return settings.DEPLOY_AMI_ID
    return aws_client("ssm").get_parameter(Name=settings.DEPLOY_AMI_PARAMETER)["Parameter"]["Value"]


def _not_found(exc: ClientError, *codes: str) -> bool:
    code = _error_code(exc)
    return code in codes or "NotFound" in code


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


# --- security groups ------------------------------------------------------------------------------
def security_group_id(name: str) -> str | None:
    vpc_id, _ = network()
    found = aws_client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    return found[0]["GroupId"] if found else None


@dataclass
class SecurityGroup(Resource):
    """Ingress rules: ``{"port": 8000, "from_group": "<group name>"}`` or ``{"port": 80, "cidr": "0.0.0.0/0"}``."""

    kind: ClassVar[str] = "security-group"
    order: ClassVar[int] = 1
    name: str
    description: str
    ingress: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def _permission(self, rule: dict[str, Any]) -> dict[str, Any]:
        perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": rule["port"], "ToPort": rule["port"]}
        if "cidr" in rule:
            perm["IpRanges"] = [{"CidrIp": rule["cidr"]}]
        else:
            perm["UserIdGroupPairs"] = [{"GroupId": security_group_id(rule["from_group"])}]
        return perm

    @staticmethod
    def _has(current: list[dict[str, Any]], wanted: dict[str, Any]) -> bool:
        for perm in current:
            if perm.get("IpProtocol") != "tcp" or perm.get("FromPort") != wanted["FromPort"]:
                continue
            if "IpRanges" in wanted and wanted["IpRanges"][0]["CidrIp"] in {r["CidrIp"] for r in perm.get("IpRanges", [])}:
                return True
            if "UserIdGroupPairs" in wanted and wanted["UserIdGroupPairs"][0]["GroupId"] in {
                p["GroupId"] for p in perm.get("UserIdGroupPairs", [])
            }:
                return True
        return False

    def ensure(self, *, check: bool) -> list[Change]:
        ec2 = aws_client("ec2")
        vpc_id, _ = network()
        group_id = security_group_id(self.name)
        created = False
        if group_id is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            group_id = ec2.create_security_group(
                GroupName=self.name, Description=self.description, VpcId=vpc_id,
                TagSpecifications=[{"ResourceType": "security-group",
                                    "Tags": [{"Key": k, "Value": v} for k, v in {**self.tags, "Name": self.name}.items()]}],
            )["GroupId"]
            created = True
        current = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0].get("IpPermissions", [])
        changes = []
        for rule in self.ingress:
            wanted = self._permission(rule)
            if not self._has(current, wanted):
                change = self._converge(
                    check=check, what=f"ingress tcp/{rule['port']}", differs=True,
                    apply=lambda wanted=wanted: ec2.authorize_security_group_ingress(
                        GroupId=group_id, IpPermissions=[wanted]),
                )
                if change:
                    changes.append(change)
        return self._summarise(self.kind, self.name, changes, created)


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


# --- EFS ------------------------------------------------------------------------------------------------
EFS_LIFECYCLE = [{"TransitionToIA": "AFTER_30_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}]


def efs_file_system_id() -> str | None:
    if not settings.DEPLOY_EFS_ENABLED:
        return None
    found = aws_client("efs").describe_file_systems(CreationToken=names()["efs"])["FileSystems"]
    return found[0]["FileSystemId"] if found else None


@dataclass
class EfsFileSystem(Resource):
    """Shared uploads for several instances: encrypted, General Purpose, Elastic throughput, files
    moved to Infrequent Access after 30 days unused and back on first access; one mount target per subnet."""

    kind: ClassVar[str] = "efs-file-system"
    order: ClassVar[int] = 3
    name: str
    security_group: str
    tags: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def _wait_available(fs_id: str, timeout: float = 120.0) -> None:
        """A new file system takes a little while; lifecycle and mount targets need it available."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            state = aws_client("efs").describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["LifeCycleState"]
            if state == "available":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"EFS {fs_id} still {state} after {timeout:.0f}s")
            time.sleep(2)

    def ensure(self, *, check: bool) -> list[Change]:
        efs = aws_client("efs")
        fs_id = efs_file_system_id()
        created = False
        if fs_id is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            fs_id = efs.create_file_system(
                CreationToken=self.name, PerformanceMode="generalPurpose", ThroughputMode="elastic",
                Encrypted=True, Tags=[{"Key": k, "Value": v} for k, v in {**self.tags, "Name": self.name}.items()],
            )["FileSystemId"]
            created = True
            self._wait_available(fs_id)
        changes = []
        current = efs.describe_lifecycle_configuration(FileSystemId=fs_id).get("LifecyclePolicies", [])
        change = self._converge(
            check=check, what="lifecycle (IA after 30 days)",
            differs=sorted(json.dumps(p, sort_keys=True) for p in current)
            != sorted(json.dumps(p, sort_keys=True) for p in EFS_LIFECYCLE),
            apply=lambda: efs.put_lifecycle_configuration(FileSystemId=fs_id, LifecyclePolicies=EFS_LIFECYCLE),
        )
        if change:
            changes.append(change)
        _, subnets = network()
        targets = {t["SubnetId"] for t in efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]}
        for subnet in subnets:
            if subnet in targets:
                continue
            change = self._converge(
                check=check, what=f"mount target in {subnet}", differs=True,
                apply=lambda subnet=subnet: efs.create_mount_target(
                    FileSystemId=fs_id, SubnetId=subnet, SecurityGroups=[security_group_id(self.security_group)]),
            )
            if change:
                changes.append(change)
        return self._summarise(self.kind, self.name, [] if created else changes, created)


# --- launch template ----------------------------------------------------------------------------------------
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


# --- load balancer ----------------------------------------------------------------------------------------
def health_check() -> dict[str, Any]:
    """The ALB probes /readyz (database and AWS reachable) every 15 s; 3 failures take an
    instance out of service, and the Auto Scaling group (ELB health checks) replaces it."""
    return {
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": settings.DEPLOY_HEALTH_CHECK_PATH,
        "HealthCheckIntervalSeconds": 15,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 2,
        "UnhealthyThresholdCount": 3,
        "Matcher": {"HttpCode": "200"},
    }

DEREGISTRATION_DELAY_SECONDS = 30  # at most gunicorn's graceful timeout


def target_group_arn(name: str) -> str | None:
    try:
        found = aws_client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    except ClientError as exc:
        if _not_found(exc, "TargetGroupNotFound"):
            return None
        raise
    return found[0]["TargetGroupArn"] if found else None


@dataclass
class TargetGroup(Resource):
    kind: ClassVar[str] = "target-group"
    order: ClassVar[int] = 30
    name: str
    port: int
    tags: dict[str, str] = field(default_factory=dict)

    def ensure(self, *, check: bool) -> list[Change]:
        elbv2 = aws_client("elbv2")
        arn = target_group_arn(self.name)
        if arn is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            vpc_id, _ = network()
            arn = elbv2.create_target_group(
                Name=self.name, Protocol="HTTP", Port=self.port, VpcId=vpc_id, TargetType="instance",
                **health_check(), Tags=[{"Key": k, "Value": v} for k, v in self.tags.items()],
            )["TargetGroups"][0]["TargetGroupArn"]
            elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
                {"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_SECONDS)}])
            return [Change(self.kind, self.name, "created")]
        found = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
        wanted = health_check()
        differing = sorted(k for k, v in wanted.items() if found.get(k) != v)
        changes = []
        change = self._converge(
            check=check, what="health check " + ", ".join(differing), differs=bool(differing),
            apply=lambda: elbv2.modify_target_group(TargetGroupArn=arn, **wanted),
        )
        if change:
            changes.append(change)
        attributes = {a["Key"]: a["Value"] for a in
                      elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
        change = self._converge(
            check=check, what="deregistration delay",
            differs=attributes.get("deregistration_delay.timeout_seconds") != str(DEREGISTRATION_DELAY_SECONDS),
            apply=lambda: elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
                {"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_SECONDS)}]),
        )
        if change:
            changes.append(change)
        return self._summarise(self.kind, self.name, changes, False)


@dataclass
class LoadBalancer(Resource):
    """Internet-facing ALB; HTTP forwards to the target group, or redirects to HTTPS when a
    certificate is configured (then HTTPS:443 with a TLS 1.2+ policy forwards)."""

    kind: ClassVar[str] = "load-balancer"
    order: ClassVar[int] = 31
    name: str
    security_group: str
    target_group: str
    certificate_arn: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def arn(self) -> str | None:
        try:
            found = aws_client("elbv2").describe_load_balancers(Names=[self.name])["LoadBalancers"]
        except ClientError as exc:
            if _not_found(exc, "LoadBalancerNotFound"):
                return None
            raise
        return found[0]["LoadBalancerArn"] if found else None

    def _listeners(self, tg_arn: str) -> dict[int, dict[str, Any]]:
        forward = [{"Type": "forward", "TargetGroupArn": tg_arn}]
        if not self.certificate_arn:
            return {80: {"Protocol": "HTTP", "Port": 80, "DefaultActions": forward}}
        return {
            80: {"Protocol": "HTTP", "Port": 80, "DefaultActions": [{
                "Type": "redirect",
                "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]},
            443: {"Protocol": "HTTPS", "Port": 443, "DefaultActions": forward, "SslPolicy": TLS_POLICY,
                  "Certificates": [{"CertificateArn": self.certificate_arn}]},
        }

    def ensure(self, *, check: bool) -> list[Change]:
        elbv2 = aws_client("elbv2")
        arn = self.arn()
        created = False
        if arn is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            _, subnets = network()
            arn = elbv2.create_load_balancer(
                Name=self.name, Subnets=subnets, SecurityGroups=[security_group_id(self.security_group)],
                Scheme="internet-facing", Type="application", IpAddressType="ipv4",
                Tags=[{"Key": k, "Value": v} for k, v in self.tags.items()],
            )["LoadBalancers"][0]["LoadBalancerArn"]
            created = True
        tg_arn = target_group_arn(self.target_group) or ""
        existing = {lst["Port"]: lst for lst in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]}
        changes = []
        for port, spec in self._listeners(tg_arn).items():
            if port not in existing:
                change = self._converge(
                    check=check, what=f"listener {port}", differs=True,
                    apply=lambda spec=spec: elbv2.create_listener(LoadBalancerArn=arn, **spec),
                )
            else:
                current = existing[port]
                differs = current.get("Protocol") != spec["Protocol"] or \
                    [a.get("Type") for a in current.get("DefaultActions", [])] != [a["Type"] for a in spec["DefaultActions"]]
                change = self._converge(
                    check=check, what=f"listener {port}", differs=differs,
                    apply=lambda spec=spec, current=current: elbv2.modify_listener(
                        ListenerArn=current["ListenerArn"], **{k: v for k, v in spec.items() if k != "Port"}),
                )
            if change:
                changes.append(change)
        return self._summarise(self.kind, self.name, [] if created else changes, created)


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


# --- EBS snapshots (Data Lifecycle Manager) ---------------------------------------------------------
SNAPSHOT_SCHEDULES = [
    {"Name": "daily", "CreateRule": {"Interval": 24, "IntervalUnit": "HOURS", "Times": ["03:00"]},
     "RetainRule": {"Count": 7}, "CopyTags": True, "TagsToAdd": [{"Key": "phb:schedule", "Value": "daily"}]},
    {"Name": "weekly", "CreateRule": {"CronExpression": "cron(0 4 ? * SUN *)"},
     "RetainRule": {"Count": 4}, "CopyTags": True, "TagsToAdd": [{"Key": "phb:schedule", "Value": "weekly"}]},
    {"Name": "monthly", "CreateRule": {"CronExpression": "cron(0 5 1 * ? *)"},
     "RetainRule": {"Count": 12}, "CopyTags": True, "TagsToAdd": [{"Key": "phb:schedule", "Value": "monthly"}]},
]
DLM_TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "dlm.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
DLM_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"


def snapshot_policy_details(target_value: str) -> dict[str, Any]:
    return {
        "PolicyType": "EBS_SNAPSHOT_MANAGEMENT",
        "ResourceTypes": ["VOLUME"],
        "TargetTags": [{"Key": SNAPSHOT_TAG, "Value": target_value}],
        "Schedules": SNAPSHOT_SCHEDULES,
    }


class EmulatorLacksService(Exception):
    pass


@dataclass
class SnapshotPolicy(Resource):
    """Snapshots of every volume tagged ``phb:snapshot=<stack>`` (the persistent data volume):
    7 daily, 4 weekly and 12 monthly kept (seed section 5). Incremental; encrypted like the volume."""

    kind: ClassVar[str] = "snapshot-policy"
    order: ClassVar[int] = 60
    name: str
    role: str
    tags: dict[str, str] = field(default_factory=dict)

    def _find(self) -> dict[str, Any] | None:
        dlm = aws_client("dlm")
        try:
            found = dlm.get_lifecycle_policies(TargetTags=[f"{SNAPSHOT_TAG}={stack()}"])["Policies"]
        except ClientError as exc:
            if settings.AWS_ENDPOINT_URL and _error_code(exc) in ("404", "500", "NotFound", "InvalidAction", "UnknownOperation",
                                                                  "NotImplemented", "InternalFailure"):
                raise EmulatorLacksService("dlm") from exc
            raise
        except Exception as exc:
            if settings.AWS_ENDPOINT_URL:
                raise EmulatorLacksService("dlm") from exc
            raise
        for policy in found:
            if policy.get("Tags", {}).get("Name") == self.name:
                return dlm.get_lifecycle_policy(PolicyId=policy["PolicyId"])["Policy"]
        return None

    def ensure(self, *, check: bool) -> list[Change]:
        try:
            found = self._find()
        except EmulatorLacksService:
            return [Change(self.kind, self.name, "unchanged", "skipped: the local emulator has no Data Lifecycle Manager")]
        dlm = aws_client("dlm")
        details = snapshot_policy_details(stack())
        if found is None:
            if check:
                return [Change(self.kind, self.name, "missing")]
            role_arn = aws_client("iam").get_role(RoleName=self.role)["Role"]["Arn"]
            dlm.create_lifecycle_policy(
                ExecutionRoleArn=role_arn, Description=f"{self.name}: 7 daily, 4 weekly, 12 monthly",
                State="ENABLED", PolicyDetails=details, Tags={**self.tags, "Name": self.name},
            )
            return [Change(self.kind, self.name, "created")]
        current = found.get("PolicyDetails", {})
        differs = [s.get("RetainRule") for s in current.get("Schedules", [])] != [s["RetainRule"] for s in SNAPSHOT_SCHEDULES] \
            or current.get("TargetTags") != details["TargetTags"] or found.get("State") != "ENABLED"
        change = self._converge(
            check=check, what="schedules", differs=differs,
            apply=lambda: dlm.update_lifecycle_policy(PolicyId=found["PolicyId"], State="ENABLED", PolicyDetails=details),
        )
        return self._summarise(self.kind, self.name, [change] if change else [], False)


@dataclass
class VolumeTags(Resource):
    """Tags on a volume created outside this stack (the one-instance phase's persistent data volume)."""

    kind: ClassVar[str] = "volume-tags"
    order: ClassVar[int] = 59
    name: str  # the volume id
    tags: dict[str, str] = field(default_factory=dict)

    def ensure(self, *, check: bool) -> list[Change]:
        ec2 = aws_client("ec2")
        try:
            volume = ec2.describe_volumes(VolumeIds=[self.name])["Volumes"][0]
        except ClientError as exc:
            if _not_found(exc, "InvalidVolume.NotFound"):
                return [Change(self.kind, self.name, "missing", "create the volume first (deploy/README.md)")]
            raise
        current = {t["Key"]: t["Value"] for t in volume.get("Tags", [])}
        missing = {k: v for k, v in self.tags.items() if current.get(k) != v}
        change = self._converge(
            check=check, what=", ".join(sorted(missing)), differs=bool(missing),
            apply=lambda: ec2.create_tags(Resources=[self.name],
                                          Tags=[{"Key": k, "Value": v} for k, v in missing.items()]),
        )
        return self._summarise(self.kind, self.name, [change] if change else [], False)


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


# --- the stack -----------------------------------------------------------------------------------------
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

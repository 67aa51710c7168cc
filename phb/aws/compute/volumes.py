"""Storage: the shared EFS file system, the EBS snapshot lifecycle policy and the data volume's tags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.compute.names import _not_found, names, stack
from phb.aws.compute.network import network, security_group_id
from phb.aws.provisioning import Change, Resource, _error_code

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances

SNAPSHOT_TAG = "phb:snapshot"


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

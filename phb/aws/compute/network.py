"""The VPC and subnets the compute stack runs in, and its security groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.provisioning import Change, Resource

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances


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

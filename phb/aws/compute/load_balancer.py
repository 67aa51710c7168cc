"""The ALB, its listeners, and the target group with its /readyz health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from django.conf import settings

from phb.aws.clients import aws_client
from phb.aws.compute.names import _not_found
from phb.aws.compute.network import network, security_group_id
from phb.aws.provisioning import Change, Resource

__aws_scope__ = "operator"  # provision_compute runs this with the operator's credentials, never the instances

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


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

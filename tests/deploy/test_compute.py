"""provision_compute against the moto server: launch template with the user-data, Auto Scaling
group, an instance launched from it (its user-data read back), the ALB target group on /readyz,
CPU target tracking, the EC2 CPU alarm and the instance role's generated policy."""

from __future__ import annotations

import base64
import io
import json

import botocore.session
import pytest
from botocore.validate import ParamValidator
from django.core.management import call_command
from django.core.management.base import CommandError

from phb.aws.clients import aws_client
from phb.aws.compute import (
    SNAPSHOT_SCHEDULES,
    cpu_alarm_spec,
    instance_refresh_request,
    names,
    snapshot_policy_details,
)
from phb.aws.iam import PolicyInputs, instance_policy
from phb.deploy.userdata import render_user_data, user_data_values

RELEASE = "v1.2.3"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("provision_compute", *args, stdout=out)
    return out.getvalue()


def upload_release(release: str) -> None:
    from phb.deploy.userdata import release_source

    bucket, _, key = release_source(release).removeprefix("s3://").partition("/")
    aws_client("s3").put_object(Bucket=bucket, Key=key, Body=b"release tarball")


@pytest.fixture(scope="module")
def stack(django_db_blocker):
    with django_db_blocker.unblock():
        with pytest.raises(CommandError, match="stopped: release-artifact"):
            run("--release", RELEASE)  # creates the releases bucket, then waits for the upload
        assert not aws_client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[names()["asg"]])["AutoScalingGroups"], "no instance before the release exists"
        upload_release(RELEASE)
        upload_release("v1.2.4")
        first = run("--release", RELEASE)
    return first


def _input_shape(service: str, operation: str):
    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def decoded(value: str) -> str:
    return base64.b64decode(value).decode()


def test_first_run_creates_the_whole_stack(stack):
    for kind in ("security-group", "iam-role", "instance-profile", "target-group", "load-balancer",
                 "launch-template", "autoscaling-group", "cloudwatch-alarm"):
        assert f"created   {kind}" in stack, (kind, stack)


def test_launch_template_carries_the_rendered_user_data(stack):
    ec2 = aws_client("ec2")
    version = ec2.describe_launch_template_versions(
        LaunchTemplateName=names()["launch_template"], Versions=["$Default"])["LaunchTemplateVersions"][0]
    data = version["LaunchTemplateData"]
    user_data = decoded(data["UserData"])
    assert user_data == render_user_data(user_data_values(release=RELEASE))
    assert user_data.startswith("#cloud-config\n")
    assert f"PHB_RELEASE={RELEASE}" in user_data
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    devices = {m["DeviceName"]: m["Ebs"] for m in data["BlockDeviceMappings"]}
    assert devices["/dev/sdf"]["VolumeType"] == "gp3" and devices["/dev/sdf"]["Encrypted"]
    assert devices["/dev/sdg"]["VolumeType"] == "st1" and devices["/dev/sdg"]["VolumeSize"] >= 125
    assert all(m["Encrypted"] for m in devices.values())
    profile = aws_client("iam").get_instance_profile(InstanceProfileName=names()["profile"])["InstanceProfile"]
    assert data["IamInstanceProfile"]["Arn"] == profile["Arn"]
    assert [r["RoleName"] for r in profile["Roles"]] == [names()["role"]]


def test_user_data_holds_no_secret(stack):
    user_data = render_user_data(user_data_values(release=RELEASE))
    for word in ("SECRET_KEY", "PASSWORD", "PEPPER", "sk_live", "sk_test", "DATABASE_URL"):
        assert word not in user_data


def test_auto_scaling_group_launches_instances_with_the_user_data(stack):
    autoscaling = aws_client("autoscaling")
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[names()["asg"]])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"]) == (1, 4)
    assert group["HealthCheckType"] == "ELB"
    assert group["LaunchTemplate"]["LaunchTemplateName"] == names()["launch_template"]
    tg = aws_client("elbv2").describe_target_groups(Names=[names()["target_group"]])["TargetGroups"][0]
    assert group["TargetGroupARNs"] == [tg["TargetGroupArn"]]
    assert group["Instances"], "the group launched no instance"

    ec2 = aws_client("ec2")
    instance_id = group["Instances"][0]["InstanceId"]
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert decoded(attribute["UserData"]["Value"]) == render_user_data(user_data_values(release=RELEASE))


def test_an_instance_launched_from_the_template_reads_back_its_user_data(stack):
    ec2 = aws_client("ec2")
    reservation = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateName": names()["launch_template"], "Version": "$Default"},
        MinCount=1, MaxCount=1)
    instance_id = reservation["Instances"][0]["InstanceId"]
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert "phb-install-release" in decoded(attribute["UserData"]["Value"])
    ec2.terminate_instances(InstanceIds=[instance_id])


def test_target_group_checks_readyz_and_the_alb_forwards_to_it(stack):
    elbv2 = aws_client("elbv2")
    tg = elbv2.describe_target_groups(Names=[names()["target_group"]])["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/readyz"
    assert tg["Port"] == 8000 and tg["Protocol"] == "HTTP"
    assert tg["Matcher"]["HttpCode"] == "200"
    lb = elbv2.describe_load_balancers(Names=[names()["load_balancer"]])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(lst["Port"], lst["DefaultActions"][0]["TargetGroupArn"]) for lst in listeners] == [
        (80, tg["TargetGroupArn"])]


def test_cpu_target_tracking_policy(stack):
    policies = aws_client("autoscaling").describe_policies(AutoScalingGroupName=names()["asg"])["ScalingPolicies"]
    assert len(policies) == 1
    config = policies[0]["TargetTrackingConfiguration"]
    assert policies[0]["PolicyType"] == "TargetTrackingScaling"
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    assert config["TargetValue"] == 60.0


def test_ec2_cpu_alarm_above_80_percent(stack):
    alarm = aws_client("cloudwatch").describe_alarms(AlarmNames=[names()["cpu_alarm"]])["MetricAlarms"][0]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/EC2", "CPUUtilization")
    assert alarm["Threshold"] == 80.0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": names()["asg"]}]
    assert alarm["AlarmActions"] and alarm["AlarmActions"][0].startswith("arn:aws:sns:")


def test_instance_role_holds_the_generated_policy(stack):
    iam = aws_client("iam")
    document = iam.get_role_policy(RoleName=names()["role"], PolicyName="phb-instance")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    assert document == instance_policy(PolicyInputs.from_settings())
    trust = iam.get_role(RoleName=names()["role"])["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=names()["role"])["AttachedPolicies"]]
    ssm_core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    try:
        iam.get_policy(PolicyArn=ssm_core)
    except iam.exceptions.NoSuchEntityException:  # moto without MOTO_IAM_LOAD_MANAGED_POLICIES
        assert attached == []
    else:
        assert attached == [ssm_core]


def test_security_groups_open_the_app_port_to_the_alb_only(stack):
    ec2 = aws_client("ec2")
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [names()["alb_sg"], names()["app_sg"]]}])["SecurityGroups"]}
    app = groups[names()["app_sg"]]["IpPermissions"]
    assert [(p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]], p.get("IpRanges")) for p in app] == [
        (8000, [groups[names()["alb_sg"]]["GroupId"]], [])]


def test_second_run_and_check_change_nothing(stack):
    again = run("--release", RELEASE)
    actions = {line.split()[0] for line in again.splitlines()[:-1]}
    assert actions == {"unchanged"}, again
    run("--release", RELEASE, "--check")


def test_new_release_is_a_new_launch_template_version(stack):
    with pytest.raises(CommandError):
        run("--release", "v1.2.4", "--check")
    out = run("--release", "v1.2.4")
    assert "changed   launch-template" in out and "UserData" in out
    ec2 = aws_client("ec2")
    template = ec2.describe_launch_templates(LaunchTemplateNames=[names()["launch_template"]])["LaunchTemplates"][0]
    assert template["DefaultVersionNumber"] == 2
    version = ec2.describe_launch_template_versions(
        LaunchTemplateName=names()["launch_template"], Versions=["$Default"])["LaunchTemplateVersions"][0]
    assert "PHB_RELEASE=v1.2.4" in decoded(version["LaunchTemplateData"]["UserData"])
    assert "instance refresh" in run("--release", "v1.2.4", "--refresh")
    shape = _input_shape("autoscaling", "StartInstanceRefresh")
    report = ParamValidator().validate(instance_refresh_request(), shape)
    assert not report.has_errors(), report.generate_report()
    run("--release", RELEASE)  # back, for the other tests' expectations


def test_release_names_are_validated(stack):
    with pytest.raises(CommandError, match="release"):
        run("--release", "v1; rm -rf /")


def test_snapshot_policy_request_is_valid_for_dlm_and_keeps_7_4_12():
    """The emulator has no DLM: the request is checked against DLM's own API model instead."""
    shape = _input_shape("dlm", "CreateLifecyclePolicy")
    request = {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/phb-test-snapshots",
        "Description": "phb-test-data-volumes: 7 daily, 4 weekly, 12 monthly",
        "State": "ENABLED",
        "PolicyDetails": snapshot_policy_details("phb-test"),
        "Tags": {"Name": "phb-test-data-volumes"},
    }
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert [(s["Name"], s["RetainRule"]["Count"]) for s in SNAPSHOT_SCHEDULES] == [
        ("daily", 7), ("weekly", 4), ("monthly", 12)]
    assert snapshot_policy_details("phb-test")["TargetTags"] == [{"Key": "phb:snapshot", "Value": "phb-test"}]


def test_instances_follow_the_persistent_volume_into_its_zone(stack, settings):
    from phb.aws.compute import instance_subnets, network

    ec2 = aws_client("ec2")
    _, subnets = network()
    zones = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]}
    zone = sorted(set(zones.values()))[1]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=10, VolumeType="gp3", Encrypted=True)["VolumeId"]
    settings.DEPLOY_DATA_VOLUME_ID = volume
    assert instance_subnets() == [s for s in subnets if zones[s] == zone]
    settings.DEPLOY_DATA_VOLUME_ID = ""
    assert instance_subnets() == subnets


def test_efs_for_several_instances(stack, settings):
    from phb.aws.compute import EFS_LIFECYCLE, efs_file_system_id, security_group_id

    settings.DEPLOY_EFS_ENABLED = True
    out = run("--release", RELEASE)
    assert "created   efs-file-system" in out and "changed   launch-template" in out
    fs_id = efs_file_system_id()
    efs = aws_client("efs")
    fs = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
    assert fs["Encrypted"] and fs["PerformanceMode"] == "generalPurpose" and fs["ThroughputMode"] == "elastic"
    assert efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"] == EFS_LIFECYCLE
    from phb.aws.compute import network

    targets = efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(network()[1])
    nfs = aws_client("ec2").describe_security_groups(GroupIds=[security_group_id(names()["efs_sg"])])
    rule = nfs["SecurityGroups"][0]["IpPermissions"][0]
    assert rule["FromPort"] == 2049
    assert [g["GroupId"] for g in rule["UserIdGroupPairs"]] == [security_group_id(names()["app_sg"])]
    version = aws_client("ec2").describe_launch_template_versions(
        LaunchTemplateName=names()["launch_template"], Versions=["$Default"])["LaunchTemplateVersions"][0]
    assert f"PHB_EFS_ID={fs_id}" in decoded(version["LaunchTemplateData"]["UserData"])
    document = aws_client("iam").get_role_policy(RoleName=names()["role"], PolicyName="phb-instance")["PolicyDocument"]
    shared = next(s for s in document["Statement"] if s["Sid"] == "SharedFileSystem")
    assert shared["Resource"].endswith(f":file-system/{fs_id}")
    assert {a for line in run("--release", RELEASE).splitlines()[:-1] for a in [line.split()[0]]} == {"unchanged"}
    settings.DEPLOY_EFS_ENABLED = False
    run("--release", RELEASE)


def test_cpu_alarm_spec_without_topic_has_no_actions(settings):
    spec = cpu_alarm_spec(topic_arn=None)
    assert spec["ActionsEnabled"] is False and "AlarmActions" not in spec

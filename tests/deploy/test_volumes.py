"""deploy/bin/phb-volumes, the boot-time unit's script: data, logs and shared volumes from
/etc/phb/bootstrap.env, and the persistent data volume attached by the instance itself."""

from __future__ import annotations

import os

import pytest

from tests.deploy.blockdev import ROOT, BlockEnv, _stub, loop_devices_usable

SCRIPT = ROOT / "deploy" / "bin" / "phb-volumes"
VOL = "vol-0123456789abcdef0"


@pytest.fixture(params=["loop", "file"])
def blk(request, tmp_path):
    if request.param == "loop":
        reason = loop_devices_usable(tmp_path)
        if reason:
            pytest.skip(f"loop devices unavailable here ({reason})")
    env = BlockEnv(mode=request.param, root=tmp_path)
    env.add_efs_helper()
    yield env
    env.cleanup()


def run(blk: BlockEnv, **env: str):
    import subprocess

    full = {**blk.env(), "PHB_MOUNT_ROOT": str(blk.root / "host"), "PHB_USER": "root", **env}
    return subprocess.run([str(SCRIPT)], env=full, capture_output=True, text=True, timeout=300)


def fstab_targets(blk: BlockEnv) -> list[str]:
    return [line.split()[1] for line in blk.fstab.read_text().splitlines() if line.strip()]


def test_launch_template_volumes_and_efs(blk):
    data = blk.make_volume("vol-0aaaaaaaaaaaaaaa0")
    logs = blk.make_volume("vol-0bbbbbbbbbbbbbbb0", size_mb=48)
    (blk.dev_dir / "sdf").symlink_to(data.device)
    (blk.dev_dir / "sdg").symlink_to(logs.device)
    if blk.mode == "loop":  # EFS cannot be mounted here for real; its script is covered with stand-ins
        efs = {}
    else:
        efs = {"PHB_EFS_ID": "fs-0123456789abcdef0"}
    result = run(blk, PHB_DATA_DEVICE="sdf", PHB_LOGS_DEVICE="sdg", **efs)
    assert result.returncode == 0, result.stdout + result.stderr
    host = blk.root / "host"
    assert blk.mounted_at(host / "srv/phb/data") == data.device
    assert blk.mounted_at(host / "var/log/phb") == logs.device
    expected = [str(host / "srv/phb/data"), str(host / "var/log/phb")]
    if efs:
        expected.append(str(host / "srv/phb/shared"))
    assert fstab_targets(blk) == expected
    assert (host / "srv/phb/data/var").is_dir()
    assert oct((host / "srv/phb/data").stat().st_mode & 0o777) == "0o750"

    again = run(blk, PHB_DATA_DEVICE="sdf", PHB_LOGS_DEVICE="sdg", **efs)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(": unchanged") == len(expected)


def test_persistent_data_volume_is_attached_by_the_instance(blk):
    volume = blk.make_volume(VOL)
    link = blk.by_id / f"nvme-Amazon_Elastic_Block_Store_{VOL.replace('-', '')}"
    link.unlink()  # not attached yet
    calls = blk.state / "aws.log"
    # IMDSv2 and the AWS CLI: the attach makes the NVMe link appear, as on a Nitro instance.
    _stub(blk.stubs / "curl", 'case "$*" in *api/token*) echo token ;; *instance-id*) echo i-0123456789abcdef0 ;; esac\n')
    _stub(blk.stubs / "aws", f'echo "$*" >>"{calls}"\nln -s "{volume.device}" "{link}"\n')
    result = run(blk, PHB_DATA_VOLUME_ID=VOL, PHB_DATA_DEVICE="sdf", PHB_LOGS_DEVICE="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls.read_text().split() == [
        "ec2", "attach-volume", "--volume-id", VOL, "--instance-id", "i-0123456789abcdef0", "--device", "/dev/sdf"]
    assert blk.mounted_at(blk.root / "host/srv/phb/data") == volume.device

    again = run(blk, PHB_DATA_VOLUME_ID=VOL, PHB_DATA_DEVICE="sdf", PHB_LOGS_DEVICE="")
    assert again.returncode == 0
    assert len(calls.read_text().splitlines()) == 1, "an attached volume is not attached again"


def test_the_jobs_log_belongs_to_the_service_user(blk):
    """systemd creates an ``append:`` log as root; logrotate truncates it as the service user."""
    logs = blk.root / "host/var/log/phb"
    logs.mkdir(parents=True)
    (logs / "jobs.log").write_text("a line\n")
    os.chown(logs / "jobs.log", 65534, 65534)  # as left by an earlier boot, not the service user's
    result = run(blk, PHB_DATA_DEVICE="", PHB_LOGS_DEVICE="")
    assert result.returncode == 0, result.stderr
    stat = (logs / "jobs.log").stat()
    assert (stat.st_uid, stat.st_gid, oct(stat.st_mode & 0o777)) == (0, 0, "0o640")  # PHB_USER=root here
    assert (logs / "jobs.log").read_text() == "a line\n"


def test_without_volumes_directories_are_still_made(blk):
    result = run(blk, PHB_DATA_DEVICE="", PHB_LOGS_DEVICE="")
    assert result.returncode == 0, result.stderr
    assert (blk.root / "host/srv/phb/data/var").is_dir()
    assert (blk.root / "host/var/log/phb").is_dir()
    assert not blk.fstab.exists()
    assert os.access(SCRIPT, os.X_OK)


def test_postgresql_on_the_data_volume_can_reach_its_directory(blk):
    """One-instance phase: PostgreSQL (user postgres) keeps its data in /srv/phb/data/postgresql
    (deploy/bin/phb-local-services); every directory above it must let other users through, while
    the service's own files stay closed to them."""
    data = blk.make_volume("vol-0aaaaaaaaaaaaaaa0")
    (blk.dev_dir / "sdf").symlink_to(data.device)
    result = run(blk, PHB_DATA_DEVICE="sdf", PHB_LOGS_DEVICE="", PHB_LOCAL_SERVICES="1")
    assert result.returncode == 0, result.stdout + result.stderr
    host = blk.root / "host"
    for folder in (host / "srv", host / "srv/phb", host / "srv/phb/data"):
        assert folder.stat().st_mode & 0o001, f"{folder} does not let the postgres user through"
    assert (host / "srv/phb/data").stat().st_mode & 0o004 == 0, "other users may not list the data volume"
    assert oct((host / "srv/phb/data/var").stat().st_mode & 0o777) == "0o750"

    again = run(blk, PHB_DATA_DEVICE="sdf", PHB_LOGS_DEVICE="", PHB_LOCAL_SERVICES="1")  # the next boot
    assert again.returncode == 0, again.stderr
    assert (host / "srv/phb/data").stat().st_mode & 0o001

"""deploy/bin/phb-mount-efs with recording stand-ins for mount, findmnt and amazon-efs-utils
(an EFS file system cannot be reached from a test machine)."""

from __future__ import annotations

import pytest

from tests.deploy.blockdev import EFS_SCRIPT, BlockEnv

FS = "fs-0123456789abcdef0"


@pytest.fixture
def efs(tmp_path):
    env = BlockEnv(mode="file", root=tmp_path)
    env.add_efs_helper()
    return env


def args(efs: BlockEnv, *extra: str) -> list[str]:
    return ["--file-system-id", FS, "--mount-point", str(efs.root / "shared"), *extra]


def ours(efs: BlockEnv) -> list[str]:
    return [line for line in efs.fstab.read_text().splitlines()
            if line.strip() and not line.startswith("#") and line.split()[1] == str(efs.root / "shared")]


def test_fstab_entry_uses_tls_iam_and_nofail_and_mounts(efs):
    result = efs.run(EFS_SCRIPT, *args(efs))
    assert result.returncode == 0, result.stderr
    assert "fstab-added,mounted" in result.stdout
    assert ours(efs) == [f"{FS}:/ {efs.root / 'shared'} efs _netdev,noresvport,tls,iam,nofail 0 0"]
    assert efs.calls_of("mount") == [f"mount -T {efs.fstab} {efs.root / 'shared'}"]
    assert efs.mounted_at(efs.root / "shared") == "127.0.0.1:/"


def test_second_run_changes_nothing(efs):
    assert efs.run(EFS_SCRIPT, *args(efs)).returncode == 0
    fstab = efs.fstab.read_bytes()
    again = efs.run(EFS_SCRIPT, *args(efs))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith(": unchanged")
    assert efs.fstab.read_bytes() == fstab
    assert len(efs.calls_of("mount")) == 1


def test_access_point_and_stale_entry_replaced_once(efs):
    efs.fstab.write_text(f"LABEL=/ / xfs defaults 1 1\nfs-0aaaaaaaaaaaaaaa0:/ {efs.root / 'shared'} nfs4 defaults 0 0\n")
    for _ in range(2):
        assert efs.run(EFS_SCRIPT, *args(efs, "--access-point", "fsap-0123456789abcdef0")).returncode == 0
    assert ours(efs) == [
        f"{FS}:/ {efs.root / 'shared'} efs _netdev,noresvport,tls,iam,nofail,accesspoint=fsap-0123456789abcdef0 0 0"
    ]
    assert efs.fstab.read_text().splitlines()[0] == "LABEL=/ / xfs defaults 1 1"


def test_the_owner_is_set_on_the_file_system_root_but_not_through_an_access_point(efs):
    """An access point enforcing a POSIX user refuses a chown (EPERM); its own root directory owner
    decides, and the mount must not fail the boot over it."""
    calls = efs.state / "calls.log"
    chown = efs.stubs / "chown"
    chown.write_text(f'#!/usr/bin/env bash\nprintf "chown %s\\n" "$*" >>"{calls}"\n'
                     'echo "chown: Operation not permitted" >&2\nexit 1\n')
    chown.chmod(0o755)
    through = efs.run(EFS_SCRIPT, *args(efs, "--owner", "nobody:nogroup", "--access-point", "fsap-0123456789abcdef0"))
    assert through.returncode == 0, through.stderr
    assert efs.calls_of("chown") == []
    direct = BlockEnv(mode="file", root=efs.root / "direct")
    direct.add_efs_helper()
    (direct.stubs / "chown").write_text("#!/usr/bin/env bash\nexit 0\n")
    (direct.stubs / "chown").chmod(0o755)
    result = direct.run(EFS_SCRIPT, "--file-system-id", FS, "--mount-point", str(direct.root / "shared"),
                        "--owner", "nobody:nogroup")
    assert result.returncode == 0, result.stderr
    assert "chowned" in result.stdout


def test_mount_is_retried_while_the_mount_target_is_not_ready(efs):
    (efs.state / "mount-failures").write_text("1")
    result = efs.run(EFS_SCRIPT, *args(efs, "--retries", "3"))
    assert result.returncode == 0, result.stderr
    assert "retrying" in result.stdout
    assert len(efs.calls_of("mount")) == 2


def test_gives_up_after_the_retries(efs):
    (efs.state / "mount-failures").write_text("5")
    result = efs.run(EFS_SCRIPT, *args(efs, "--retries", "1"))
    assert result.returncode != 0
    assert "could not mount" in result.stderr


def test_refuses_a_mount_point_holding_another_filesystem(efs):
    (efs.state / "mounts").write_text(f"/dev/nvme1n1 {efs.root / 'shared'} ext4\n")
    result = efs.run(EFS_SCRIPT, *args(efs))
    assert result.returncode != 0
    assert "ext4" in result.stderr


def test_needs_amazon_efs_utils(efs):
    (efs.stubs / "mount.efs").unlink()
    result = efs.run(EFS_SCRIPT, *args(efs))
    assert result.returncode != 0
    assert "amazon-efs-utils" in result.stderr


@pytest.mark.parametrize("bad", [["--file-system-id", "fs-XYZ"], ["--access-point", "ap-1"]])
def test_bad_ids_are_rejected(efs, bad):
    base = {"--file-system-id": FS, "--mount-point": str(efs.root / "shared")}
    base.update(dict(zip(bad[::2], bad[1::2], strict=True)))
    result = efs.run(EFS_SCRIPT, *[x for kv in base.items() for x in kv])
    assert result.returncode != 0

"""deploy/bin/phb-mount-ebs run for real against loop-backed block devices (or image files with
stand-ins for mount/findmnt/blockdev where loop devices are not allowed; see blockdev.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from tests.deploy.blockdev import (
    EBS_SCRIPT,
    BlockEnv,
    fs_bytes,
    fs_uuid,
    loop_devices_usable,
    read_marker,
    write_marker,
)

VOL = "vol-0123456789abcdef0"
MODES = ["loop", "file"]


@pytest.fixture(params=MODES)
def blk(request, tmp_path):
    mode = request.param
    if os.environ.get("PHB_DEPLOY_BLOCK_MODE") and os.environ["PHB_DEPLOY_BLOCK_MODE"] != mode:
        pytest.skip(f"PHB_DEPLOY_BLOCK_MODE={os.environ['PHB_DEPLOY_BLOCK_MODE']}")
    if mode == "loop":
        reason = loop_devices_usable(tmp_path)
        if reason:
            pytest.skip(f"loop devices unavailable here ({reason}); the file mode covers the scripts")
    env = BlockEnv(mode=mode, root=tmp_path)
    yield env
    env.cleanup()


def mount_args(blk: BlockEnv, *extra: str) -> list[str]:
    return ["--volume-id", VOL, "--mount-point", str(blk.root / "data"), "--wait", "0", *extra]


def fstab_lines_for(blk: BlockEnv, mount_point) -> list[str]:
    return [
        line for line in blk.fstab.read_text().splitlines()
        if line.strip() and not line.startswith("#") and line.split()[1] == str(mount_point)
    ]


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_blank_volume_is_formatted_once_mounted_and_listed_in_fstab(blk):
    volume = blk.make_volume(VOL)
    first = blk.run(EBS_SCRIPT, *mount_args(blk, "--label", "phb-data"))
    assert first.returncode == 0, first.stderr
    assert "formatted,fstab-added,mounted" in first.stdout
    uuid = fs_uuid(volume.device)
    assert uuid
    assert blk.mounted_at(blk.root / "data") == volume.device
    assert fstab_lines_for(blk, blk.root / "data") == [
        f"UUID={uuid} {blk.root / 'data'} ext4 defaults,nofail,noatime,x-systemd.device-timeout=30s 0 2"
    ]
    label = subprocess.run(["blkid", "-p", "-o", "value", "-s", "LABEL", volume.device],
                           capture_output=True, text=True).stdout.strip()
    assert label == "phb-data"

    second = blk.run(EBS_SCRIPT, *mount_args(blk, "--label", "phb-data"))
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().endswith(": unchanged")
    assert fs_uuid(volume.device) == uuid, "the volume was formatted a second time"


def test_second_run_changes_nothing(blk):
    blk.make_volume(VOL)
    assert blk.run(EBS_SCRIPT, *mount_args(blk)).returncode == 0
    fstab_before = blk.fstab.read_bytes()
    mounts_before = blk.mounted_at(blk.root / "data")
    calls_before = blk.calls.read_text()

    again = blk.run(EBS_SCRIPT, *mount_args(blk))
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout
    assert blk.fstab.read_bytes() == fstab_before
    assert blk.mounted_at(blk.root / "data") == mounts_before
    new_calls = blk.calls.read_text()[len(calls_before):].splitlines()
    assert not [c for c in new_calls if c.split()[0] in ("mount", "resize2fs", "umount")], new_calls


def test_volume_with_data_is_never_reformatted(blk):
    volume = blk.make_volume(VOL)
    subprocess.run(["mkfs.ext4", "-q", "-L", "restored", volume.device], check=True)
    write_marker(blk, volume, "patients.db", "rows that must survive")
    uuid = fs_uuid(volume.device)

    for _ in range(2):
        result = blk.run(EBS_SCRIPT, *mount_args(blk, "--label", "phb-data"))
        assert result.returncode == 0, result.stderr
        assert "formatted" not in result.stdout
    assert fs_uuid(volume.device) == uuid
    if blk.mode == "loop":
        assert (blk.root / "data" / "patients.db").read_text() == "rows that must survive"
    else:
        assert read_marker(volume, "patients.db") == "rows that must survive"


def test_unrecognised_data_is_refused_not_formatted(blk):
    volume = blk.make_volume(VOL)
    with open(volume.image, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"\x5a" * 8192)  # data, but no signature blkid knows
    before = digest(volume.image)

    result = blk.run(EBS_SCRIPT, *mount_args(blk))
    assert result.returncode != 0
    assert "refusing to format" in result.stderr
    assert digest(volume.image) == before
    assert not blk.fstab.exists() or fstab_lines_for(blk, blk.root / "data") == []
    assert blk.mounted_at(blk.root / "data") is None


def test_partitioned_device_is_refused(blk):
    volume = blk.make_volume(VOL)
    with open(volume.image, "r+b") as fh:  # an MBR with one Linux partition from sector 2048
        entry = bytes([0x00, 0, 0, 0, 0x83, 0, 0, 0]) + (2048).to_bytes(4, "little") + (4096).to_bytes(4, "little")
        fh.seek(446)
        fh.write(entry)
        fh.seek(510)
        fh.write(b"\x55\xaa")
    before = digest(volume.image)
    result = blk.run(EBS_SCRIPT, *mount_args(blk))
    assert result.returncode != 0
    assert "partitions" in result.stderr
    assert digest(volume.image) == before


def test_fstab_gets_one_line_and_keeps_the_others(blk):
    volume = blk.make_volume(VOL)
    other = "UUID=11111111-2222-3333-4444-555555555555 / xfs defaults,noatime 1 1"
    stale = f"UUID=deadbeef-0000-0000-0000-000000000000 {blk.root / 'data'} ext4 defaults 0 2"
    blk.fstab.write_text(f"# static table\n{other}\n{stale}")  # no trailing newline

    for _ in range(3):
        assert blk.run(EBS_SCRIPT, *mount_args(blk)).returncode == 0
    lines = blk.fstab.read_text().splitlines()
    assert lines[0] == "# static table"
    assert lines[1] == other
    ours = fstab_lines_for(blk, blk.root / "data")
    assert ours == [f"UUID={fs_uuid(volume.device)} {blk.root / 'data'} ext4 "
                    "defaults,nofail,noatime,x-systemd.device-timeout=30s 0 2"]
    assert len(lines) == 3


def test_fstab_line_is_appended_after_a_file_without_trailing_newline(blk):
    blk.make_volume(VOL)
    blk.fstab.write_text("LABEL=/ / ext4 defaults 1 1")
    assert blk.run(EBS_SCRIPT, *mount_args(blk)).returncode == 0
    lines = blk.fstab.read_text().splitlines()
    assert lines[0] == "LABEL=/ / ext4 defaults 1 1"
    assert len(lines) == 2


def test_resize_grows_the_filesystem_once(blk):
    volume = blk.make_volume(VOL, size_mb=64)
    assert blk.run(EBS_SCRIPT, *mount_args(blk)).returncode == 0
    size_before = fs_bytes(volume.device)
    uuid = fs_uuid(volume.device)

    blk.grow(volume, 160)  # aws ec2 modify-volume --size ...; the NVMe device grows in place
    grown = blk.run(EBS_SCRIPT, *mount_args(blk))
    assert grown.returncode == 0, grown.stderr
    assert "resized" in grown.stdout
    size_after = fs_bytes(volume.device)
    assert size_after > size_before + 64 * 1024 * 1024
    assert fs_uuid(volume.device) == uuid
    assert blk.mounted_at(blk.root / "data") == volume.device

    again = blk.run(EBS_SCRIPT, *mount_args(blk))
    assert "unchanged" in again.stdout
    assert fs_bytes(volume.device) == size_after


def test_device_found_by_device_name_when_no_volume_id(blk):
    volume = blk.make_volume(VOL)
    (blk.dev_dir / "sdf").symlink_to(volume.device)  # what Amazon Linux's udev rule creates
    result = blk.run(EBS_SCRIPT, "--device-name", "sdf", "--mount-point", str(blk.root / "logs"), "--wait", "0")
    assert result.returncode == 0, result.stderr
    assert blk.mounted_at(blk.root / "logs") == volume.device


def test_missing_volume_fails_without_touching_anything(blk):
    blk.make_volume(VOL)
    result = blk.run(EBS_SCRIPT, "--volume-id", "vol-0fffffffffffffff0", "--mount-point", str(blk.root / "data"),
                     "--wait", "0")
    assert result.returncode != 0
    assert "is not attached" in result.stderr
    assert not blk.fstab.exists()


def test_another_filesystem_on_the_mount_point_is_refused(blk):
    first = blk.make_volume(VOL)
    assert blk.run(EBS_SCRIPT, *mount_args(blk)).returncode == 0
    blk.make_volume("vol-0aaaaaaaaaaaaaaa0")
    result = blk.run(EBS_SCRIPT, "--volume-id", "vol-0aaaaaaaaaaaaaaa0", "--mount-point", str(blk.root / "data"),
                     "--wait", "0")
    assert result.returncode != 0
    assert blk.mounted_at(blk.root / "data") == first.device


@pytest.mark.parametrize("args", [
    ["--volume-id", "vol-nothex", "--mount-point", "/srv/x"],
    ["--volume-id", VOL, "--mount-point", "relative"],
    ["--volume-id", VOL, "--mount-point", "/"],
    ["--mount-point", "/srv/x"],
    ["--volume-id", VOL, "--mount-point", "/srv/x", "--fs-type", "btrfs"],
])
def test_bad_arguments_are_rejected(blk, args):
    result = blk.run(EBS_SCRIPT, *args)
    assert result.returncode != 0
    assert "error" in result.stderr or "unknown" in result.stderr

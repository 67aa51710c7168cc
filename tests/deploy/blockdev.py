"""Block devices for running the mount scripts for real.

Two modes:

* ``loop``: a sparse image attached with ``losetup``; mkfs, blkid, mount, findmnt and resize2fs are
  the real system commands. When the process lacks CAP_SYS_RESOURCE (the kernel then refuses an
  online ext4 resize), ``resize2fs`` alone is a recording stand-in that unmounts, checks, grows
  with the real resize2fs and mounts again, so the result is still a really larger filesystem.
* ``file``: for machines without loop devices. The "device" is the image file itself: mkfs, blkid,
  cmp, dumpe2fs and resize2fs still run for real on it; ``mount``, ``umount``, ``findmnt`` and
  ``blockdev`` are recording stand-ins that keep a mount table in a state file.

Every stand-in appends its argument list to ``calls.log``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EBS_SCRIPT = ROOT / "deploy" / "bin" / "phb-mount-ebs"
EFS_SCRIPT = ROOT / "deploy" / "bin" / "phb-mount-efs"
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _which(name: str) -> str | None:
    return shutil.which(name, path=SBIN_PATH)


def can_resize_online() -> bool:
    """The kernel allows EXT4_IOC_RESIZE_FS only with CAP_SYS_RESOURCE (bit 24)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 24))
    return False


def loop_devices_usable(tmp: Path) -> str | None:
    """None when loop devices work here, else the reason they do not."""
    if os.geteuid() != 0:
        return "not root"
    for tool in ("losetup", "mkfs.ext4", "blkid", "mount", "findmnt", "resize2fs", "e2fsck"):
        if _which(tool) is None:
            return f"{tool} not installed"
    image = tmp / "probe.img"
    image.write_bytes(b"")
    os.truncate(image, 1024 * 1024)
    try:
        found = subprocess.run([_which("losetup"), "-f", "--show", str(image)], capture_output=True, text=True)
    except OSError as exc:
        return f"losetup failed: {exc}"
    if found.returncode != 0:
        return f"losetup refused: {found.stderr.strip()}"
    subprocess.run([_which("losetup"), "-d", found.stdout.strip()], check=False)
    image.unlink()
    return None


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + textwrap.dedent(body))
    path.chmod(0o755)


@dataclass
class Volume:
    volume_id: str
    image: Path
    device: str  # /dev/loopN or the image path


@dataclass
class BlockEnv:
    mode: str  # "loop" | "file"
    root: Path
    volumes: list[Volume] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_id = self.root / "by-id"
        self.dev_dir = self.root / "dev"
        self.stubs = self.root / "stubs"
        self.state = self.root / "state"
        self.fstab = self.root / "fstab"
        for d in (self.by_id, self.dev_dir, self.stubs, self.state):
            d.mkdir(parents=True, exist_ok=True)
        (self.state / "mounts").write_text("")
        (self.state / "devices").write_text("")
        self.calls = self.state / "calls.log"
        self.calls.write_text("")
        self._write_stubs()

    # -- stand-ins --------------------------------------------------------------------------
    def _write_stubs(self) -> None:
        record = f'printf "%s %s\\n" "$(basename "$0")" "$*" >>"{self.calls}"\n'
        real_resize = _which("resize2fs")
        real_fsck = _which("e2fsck")
        if self.mode == "loop":
            if not can_resize_online():
                real_mount, real_umount, real_findmnt = _which("mount"), _which("umount"), _which("findmnt")
                _stub(self.stubs / "resize2fs", record + f"""
                    dev="${{@: -1}}"
                    target=$({real_findmnt} -n -o TARGET --source "$dev" | head -n 1 || true)
                    if [[ -n "$target" ]]; then {real_umount} "$target"; fi
                    {real_fsck} -fy "$dev" >/dev/null 2>&1 || [[ $? -le 1 ]]
                    {real_resize} "$@"
                    if [[ -n "$target" ]]; then {real_mount} "$dev" "$target"; fi
                """)
            return
        mounts, devices = self.state / "mounts", self.state / "devices"
        blkid = _which("blkid")
        _stub(self.stubs / "mount", record + f"""
            if [[ -f "{self.state}/mount-failures" ]]; then
                left=$(cat "{self.state}/mount-failures")
                if [[ "$left" -gt 0 ]]; then echo $((left - 1)) >"{self.state}/mount-failures"; exit 32; fi
            fi
            [[ "$1" == -T ]] || {{ echo "stand-in mount: only 'mount -T FSTAB DIR'" >&2; exit 2; }}
            line=$(awk -v mp="$3" '$1 !~ /^#/ && $2 == mp' "$2" | head -n 1)
            [[ -n "$line" ]] || {{ echo "mount: $3: not in $2" >&2; exit 1; }}
            spec=$(awk '{{print $1}}' <<<"$line"); fstype=$(awk '{{print $3}}' <<<"$line")
            source="$spec"
            if [[ "$spec" == UUID=* ]]; then
                source=""
                while read -r dev; do
                    if [[ "$({blkid} -p -o value -s UUID "$dev" 2>/dev/null)" == "${{spec#UUID=}}" ]]; then
                        source="$dev"
                    fi
                done <"{devices}"
                [[ -n "$source" ]] || {{ echo "mount: can't find $spec" >&2; exit 1; }}
            fi
            if [[ "$fstype" == efs ]]; then source="127.0.0.1:/"; fstype=nfs4; fi
            echo "$source $3 $fstype" >>"{mounts}"
        """)
        _stub(self.stubs / "umount", record + f"""
            awk -v t="$1" '$2 != t' "{mounts}" >"{mounts}.new"; mv "{mounts}.new" "{mounts}"
        """)
        _stub(self.stubs / "findmnt", record + f"""
            col=""; key=""; value=""
            while [[ $# -gt 0 ]]; do
                case "$1" in
                    -n) shift ;;
                    -o) col=$2; shift 2 ;;
                    --mountpoint) key=2; value=$2; shift 2 ;;
                    --source) key=1; value=$2; shift 2 ;;
                    *) shift ;;
                esac
            done
            case "$col" in SOURCE) c=1 ;; TARGET) c=2 ;; FSTYPE) c=3 ;; *) exit 2 ;; esac
            out=$(awk -v k="$key" -v v="$value" -v c="$c" '$k == v {{ print $c }}' "{mounts}")
            [[ -n "$out" ]] || exit 1
            printf '%s\\n' "$out"
        """)
        _stub(self.stubs / "blockdev", record + """
            [[ "$1" == --getsize64 ]] || exit 2
            stat -L -c %s "$2"
        """)
        _stub(self.stubs / "resize2fs", record + f"""
            dev="${{@: -1}}"
            {real_fsck} -fy "$dev" >/dev/null 2>&1 || [[ $? -le 1 ]]
            {real_resize} "$@"
        """)
        _stub(self.stubs / "mount.efs", record)

    def add_efs_helper(self) -> None:
        """amazon-efs-utils' helper, for the EFS script's dependency check (never run)."""
        if not (self.stubs / "mount.efs").exists():
            _stub(self.stubs / "mount.efs", f'printf "%s %s\\n" mount.efs "$*" >>"{self.calls}"\n')

    # -- volumes ---------------------------------------------------------------------------
    def make_volume(self, volume_id: str, size_mb: int = 64) -> Volume:
        image = self.root / f"{volume_id}.img"
        image.write_bytes(b"")
        os.truncate(image, size_mb * 1024 * 1024)
        if self.mode == "loop":
            device = subprocess.run(
                [_which("losetup"), "-f", "--show", str(image)], check=True, capture_output=True, text=True
            ).stdout.strip()
        else:
            device = str(image)
            with open(self.state / "devices", "a") as fh:
                fh.write(device + "\n")
        (self.by_id / f"nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}").symlink_to(device)
        volume = Volume(volume_id, image, device)
        self.volumes.append(volume)
        return volume

    def grow(self, volume: Volume, size_mb: int) -> None:
        os.truncate(volume.image, size_mb * 1024 * 1024)
        if self.mode == "loop":
            subprocess.run([_which("losetup"), "-c", volume.device], check=True)

    # -- running ---------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.stubs}:{SBIN_PATH}",
            "PHB_FSTAB": str(self.fstab),
            "PHB_DISK_BY_ID": str(self.by_id),
            "PHB_DEV_DIR": str(self.dev_dir),
            "PHB_LOCK_DIR": str(self.state),
            "LANG": "C",
        }

    def run(self, script: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], env=self.env(), capture_output=True, text=True, timeout=120)

    def calls_of(self, command: str) -> list[str]:
        return [line for line in self.calls.read_text().splitlines() if line.split(" ", 1)[0] == command]

    def mounted_at(self, target: Path) -> str | None:
        """The source mounted at ``target`` (real mount table in loop mode, the stand-in's otherwise)."""
        if self.mode == "loop":
            found = subprocess.run(
                [_which("findmnt"), "-n", "-o", "SOURCE", "--mountpoint", str(target)], capture_output=True, text=True
            )
            return found.stdout.strip() or None
        for line in (self.state / "mounts").read_text().splitlines():
            source, mount_target, _ = line.split()
            if mount_target == str(target):
                return source
        return None

    def cleanup(self) -> None:
        if self.mode == "loop":
            for volume in self.volumes:
                targets = subprocess.run(
                    [_which("findmnt"), "-n", "-o", "TARGET", "--source", volume.device], capture_output=True, text=True
                ).stdout.split()
                for target in targets:
                    subprocess.run([_which("umount"), target], check=False)
                subprocess.run([_which("losetup"), "-d", volume.device], check=False)


def fs_uuid(device: str) -> str:
    return subprocess.run(
        [_which("blkid"), "-p", "-o", "value", "-s", "UUID", device], capture_output=True, text=True
    ).stdout.strip()


def fs_bytes(device: str) -> int:
    out = subprocess.run([_which("dumpe2fs"), "-h", device], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return int(fields["Block count"]) * int(fields["Block size"])


def write_marker(env: BlockEnv, volume: Volume, name: str, content: str) -> None:
    """Put a file on a volume's filesystem without the scripts (debugfs edits the image directly)."""
    src = env.root / "marker.tmp"
    src.write_text(content)
    subprocess.run([_which("debugfs"), "-w", "-R", f"write {src} {name}", volume.device], check=True,
                   capture_output=True)


def read_marker(volume: Volume, name: str) -> str:
    return subprocess.run(
        [_which("debugfs"), "-R", f"cat {name}", volume.device], capture_output=True, text=True, check=True
    ).stdout

"""`make bench`: run every bench/bench_*.py and print their `name: value` lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"# {script.name}", flush=True)
        done = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, timeout=1800)
        if done.returncode != 0:
            print(f"# {script.name} failed with exit code {done.returncode}", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

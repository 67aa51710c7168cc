"""Log scrubbing on hostile text.

Every log line is scrubbed of PHI (``phb.logs.scrub_text``) before any handler sees it, so a
line's cost must grow with its length, not with its square. For each shape of text that made a
pattern retry from every character (long runs of digits, of word characters and dots, of
``eyJ``, of ``a@``, of nested percent-escapes, ...), the time to scrub 100 KB and 200 KB of it,
in process, the best of 3.

log_scrub_worst_ms_per_100kb: the slowest shape's time for 100 KB. Target < 100.
log_scrub_worst_growth_200kb_vs_100kb: the largest ratio of a shape's time at 200 KB to its time
at 100 KB: about 2 when the cost is linear, 4 when quadratic. Target < 3.
"""

from __future__ import annotations

import os
import sys
import time

from common import bench_env, setup_django

SHAPES = {
    "digits then a letter": lambda n: "1" * n + "x",
    "letters then a digit": lambda n: "a" * n + "1",
    "letters and dots then @": lambda n: "a." * (n // 2) + "@",
    "@ then a dashed run": lambda n: "a@" + "b-" * (n // 2),
    "letter-digit pairs": lambda n: "A1" * (n // 2) + "-",
    "eyJ repeated": lambda n: "eyJ" * (n // 3) + "1",
    "a@ repeated": lambda n: "a@" * (n // 2),
    "digits and spaces": lambda n: "1 " * (n // 2) + "x",
    "digits and dots": lambda n: "1." * (n // 2) + "x",
    "keys repeated": lambda n: "password=" * (n // 9),
    "escapes nested": lambda n: "a%%34%30b.co " * (n // 13),
    "encoded emails repeated": lambda n: "a%2540b.co " * (n // 11),
}


def best_of_3(text: str) -> float:
    from phb.logs import scrub_text

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        scrub_text(text)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    setup_django(bench_env(LOG_LEVEL="WARNING"))
    worst, growth = 0.0, 0.0
    for make in SHAPES.values():
        small, large = best_of_3(make(100_000)), best_of_3(make(200_000))
        worst = max(worst, small)
        growth = max(growth, large / small)
    print(f"log_scrub_worst_ms_per_100kb: {worst * 1000:.1f}")
    print(f"log_scrub_worst_growth_200kb_vs_100kb: {growth:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()

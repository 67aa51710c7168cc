"""When a worker's garbage collector runs: between requests, not in the middle of one.

Python collects its youngest generation every 700 net allocations of container objects. A page of
200 appointments allocates several thousand (its rows, their ids, the items built from them), so
the collector ran a few times inside every such request, each time walking everything the request
still held, promoting it a generation and walking it again there. What a request leaves behind is
mostly freed by reference counting the moment it ends; the rest is a handful of reference cycles
(the view and its response hold each other, and the response holds the page's data).

:class:`Schedule` moves the work to the gap between requests:

- inside a request the automatic collector starts only past ``backstop`` net allocations (100,000),
  a guard against a request that builds cycles without end, not a routine;
- after each request the youngest generation is collected, when almost nothing in it is still
  alive; every ``middle_every``-th request (10) also the middle generation, and every
  ``full_every``-th (1,000) the whole heap, startup's frozen objects aside. A cycle that outlives
  its request is reclaimed at the next middle or full collection, as under Python's own schedule.

``phb.workers`` calls :meth:`Schedule.after_request` once a request's connection is done with;
``deploy/gunicorn.conf.py`` starts the schedule (``GUNICORN_GC_BETWEEN_REQUESTS``, on by default).
What it saves is measured in ``deploy/README.md``.
"""

from __future__ import annotations

import gc
import itertools
from dataclasses import dataclass, field


def freeze_startup() -> None:
    """Collect what loading the application left behind and move the rest into the permanent
    generation, which no collection walks again."""
    gc.collect()
    gc.freeze()


@dataclass
class Schedule:
    backstop: int = 100_000
    middle_every: int = 10
    full_every: int = 1_000
    _served: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def start(self) -> None:
        """Once, when the worker has loaded the application: collect what startup left, move the rest
        into the permanent generation (never walked again), and raise the in-request threshold."""
        freeze_startup()
        _, middle, oldest = gc.get_threshold()
        gc.set_threshold(self.backstop, middle, oldest)

    def after_request(self) -> int:
        """Collect after a request has been answered; returns the generation collected."""
        served = next(self._served)  # atomic under the GIL: threads of one worker may share it
        generation = 2 if served % self.full_every == 0 else 1 if served % self.middle_every == 0 else 0
        gc.collect(generation)
        return generation

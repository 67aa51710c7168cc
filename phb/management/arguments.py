"""Argument types for management commands: a number an option cannot use is refused by argparse,
which names the option (a CommandError under call_command, usage and exit status 2 in a shell)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def at_least(minimum: int | float, *, kind: type = int) -> Callable[[str], int | float]:
    """``type=`` for an option taking a ``kind`` (int or float) of at least ``minimum``."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a number of at least {minimum}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse

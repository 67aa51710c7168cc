"""A local Paystack stand-in: the same HTTP API, in memory, for development and tests.

The command line (``python -m payments.standin``); its first line is the ``--help`` description.
"""

from __future__ import annotations

import argparse
import os
import sys

from payments.standin.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payments.standin", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--webhook-url", default="")
    args = parser.parse_args(argv)
    secret_key = os.environ.get("PAYSTACK_STANDIN_SECRET_KEY", "")
    if not secret_key:
        print("PAYSTACK_STANDIN_SECRET_KEY must be set", file=sys.stderr)
        return 2
    serve(host=args.host, port=args.port, secret_key=secret_key, webhook_url=args.webhook_url)
    return 0

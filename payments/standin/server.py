"""The threading HTTP server around one in-memory state."""

from __future__ import annotations

from http.server import ThreadingHTTPServer

from payments.standin.handler import Handler
from payments.standin.state import StandinState


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: StandinState) -> None:
        super().__init__(address, Handler)
        self.state = state


def serve(*, host: str, port: int, secret_key: str, webhook_url: str = "") -> None:
    state = StandinState(secret_key=secret_key, webhook_url=webhook_url)
    server = StandinServer((host, port), state)
    state.public_url = f"http://{host}:{server.server_address[1]}"
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()

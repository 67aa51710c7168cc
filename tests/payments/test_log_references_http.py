"""Payment references never reach the logs: they name the payment at the provider."""

from __future__ import annotations

import logging

import pytest

from payments.models import new_reference
from phb.logs import JsonFormatter, ScrubFilter, scrub, scrub_text
from tests.payments.conftest import api_client, initialize, slot_start


def test_the_scrubber_removes_every_payment_reference():
    for reference in [new_reference() for _ in range(500)] + ["PHB-ABCDEFABCDEFABCD", "phb-0123456789abcdef"]:
        assert reference not in str(scrub({"reference": reference}))
        line = scrub_text(f"Bad Gateway: /api/payments/verify/{reference}/")
        assert line == "Bad Gateway: /api/payments/verify/PHB-[reference]/"


class _Lines(logging.Handler):
    """The lines as the configured handlers write them (scrubbed, then formatted)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(ScrubFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.django_db(transaction=True)
def test_no_log_line_names_the_payment_reference(api_server, standin, clinic):
    handler = _Lines()
    loggers = [logging.getLogger(name) for name in ("payments", "django.request")]
    for item in loggers:
        item.addHandler(handler)
    try:
        http = api_client(api_server, clinic["patient"])
        started = initialize(http, clinic["general"], when=slot_start(days=3))
        standin.fault("verify", status=500, count=5)
        response = http.get(f"/api/payments/verify/{started['reference']}/")
    finally:
        for item in loggers:
            item.removeHandler(handler)
    assert response.status_code == 502 and response.json()["message"]
    out = "\n".join(handler.lines)
    assert "payment_initialized" in out and "Bad Gateway" in out
    assert [line for line in out.splitlines() if started["reference"] in line] == []

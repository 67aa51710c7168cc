"""A WSGI application whose requests never finish: the worker timeout's target in test_worker_abort."""

import time


def wait_forever() -> None:
    while True:
        time.sleep(0.1)


def application(environ, start_response):
    wait_forever()

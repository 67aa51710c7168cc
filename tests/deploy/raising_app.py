"""A WSGI application that fails with personal data in its exception: test_worker_error_log's target."""

LEAK = "no account for ada.obi@example.org (08031234567)"


def application(environ, start_response):
    raise RuntimeError(LEAK)

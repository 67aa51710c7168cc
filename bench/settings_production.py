"""Production settings as deployed, plus the bare constant-JSON view of ``bench/urls.py`` (the
throughput baseline served by the same gunicorn). Used only by the load benchmarks."""

from phb.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"

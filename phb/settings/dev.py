"""Development: the embedded defaults `make run` uses (SQLite, a local moto server as AWS)."""

from phb.settings.base import *  # noqa: F401,F403
from phb.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)

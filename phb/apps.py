from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PhbConfig(AppConfig):
    name = "phb"
    verbose_name = "PHB platform"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_init

        from phb import lookups, pgtypes
        from phb.logs import remember_user
        from phb.middleware import register_after_response
        from phb.observability.requests import record_request

        # PostgreSQL timestamps parsed in C (phb/pgtypes.py).
        pgtypes.connect()
        # ``field__any=[...]``: a page's ids as one array parameter (phb/lookups.py).
        lookups.register()
        # Request metrics per route template (sent in the background by phb.metrics).
        register_after_response(record_request)
        # Names, emails and phones of users loaded during a request are scrubbed from its lines.
        post_init.connect(remember_user, sender=get_user_model(), dispatch_uid="phb.logs.remember_user")


class PhbAdminConfig(AdminConfig):
    """Django's admin with the project's site: operators sign in with the emailed code
    (``accounts.admin_site``)."""

    default_site = "accounts.admin_site.PhbAdminSite"

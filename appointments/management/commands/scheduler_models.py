"""Scheduler policy versions: ``list``, ``upload VERSION``, ``promote VERSION``, ``rollback``.

``promote`` downloads the version from the models bucket when it is not on this machine, evaluates
it on held-out simulator episodes and makes it serve only if it beats both the active version and
the heuristic (paired 95 % interval above zero against the heuristic).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from appointments.scheduler import registry


class Command(BaseCommand):
    help = "List, upload, promote or roll back appointment scheduler policies."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "upload", "promote", "rollback"])
        parser.add_argument("version", nargs="?")
        parser.add_argument("--episodes", type=int, default=200)
        parser.add_argument("--local-only", action="store_true", help="list: do not ask the models bucket")

    def handle(self, *args, **options):
        action, version = options["action"], options["version"]
        try:
            if action == "list":
                self._list(local_only=options["local_only"])
            elif action == "upload":
                registry.upload(self._need(version))
                self.stdout.write(f"uploaded {version}")
            elif action == "promote":
                result = registry.promote(self._need(version), episodes=options["episodes"])
                self.stdout.write(json.dumps(result, indent=2, default=str))
                if not result["promoted"]:
                    raise CommandError(f"{version} was not promoted: it must beat the active version and the "
                                       "heuristic on the held-out evaluation")
            else:
                self.stdout.write(f"active version is now {registry.rollback()}")
        except registry.ModelError as exc:
            raise CommandError(str(exc)) from exc

    @staticmethod
    def _need(version):
        if not version:
            raise CommandError("give a VERSION")
        return version

    def _list(self, *, local_only: bool) -> None:
        active = registry.active_version()
        remote = [] if local_only else registry.s3_versions()
        for version in sorted(set(registry.local_versions()) | set(remote)):
            manifest = registry.manifest(version) or {}
            headline = (manifest.get("evaluation") or {}).get("headline", {})
            where = ",".join(w for w, present in (("local", version in registry.local_versions()),
                                                  ("s3", version in remote)) if present)
            mark = "*" if version == active else " "
            self.stdout.write(f"{mark} {version}  [{where}]  created={manifest.get('created', '?')}  "
                              f"beats_heuristic={headline.get('beats_heuristic', '?')}")

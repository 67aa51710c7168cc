"""Collects the AWS resources every app declares in its ``aws_resources.py``."""

from __future__ import annotations

from importlib import import_module

from django.apps import apps

from phb.aws.provisioning import Resource


def declared_resources() -> list[Resource]:
    found: list[Resource] = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.aws_resources")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.aws_resources":
                raise
            continue
        found.extend(module.resources())
    return sorted(found, key=lambda r: r.order)

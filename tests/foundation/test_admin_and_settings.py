"""Every model is in the Django admin with filters and search; EMAIL_URL's file form works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin

from tests.helpers import client_for

ROOT = Path(__file__).resolve().parents[2]


def our_apps() -> set[str]:
    """The project's own apps: those whose package lies in this repository, not in the environment."""
    return {config.label for config in apps.get_app_configs()
            if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).relative_to(ROOT).parts}


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in our_apps()]


def test_every_app_of_the_project_is_checked():
    assert {"accounts", "hospitals", "records", "appointments", "payments", "tracking", "storage", "admissions",
            "pharmacies", "prescriptions"} <= our_apps()


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_model_is_in_admin_with_filters_and_search(model):
    assert model in admin.site._registry, f"{model._meta.label} is not registered in the admin"
    model_admin = admin.site._registry[model]
    assert model_admin.list_filter, f"{model._meta.label} admin has no list_filter"
    assert model_admin.search_fields, f"{model._meta.label} admin has no search_fields"


@pytest.mark.django_db
def test_admin_changelists_render_for_staff(admin_user):
    client = client_for(None)
    client.force_login(admin_user)
    for model in our_models():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        search = client.get(url, {"q": "x"})
        assert search.status_code == 200, (url, "search", search.status_code)


def test_email_url_file_form_writes_into_the_named_directory(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "phb.settings.dev", "EMAIL_URL": f"filemail:///{tmp_path}"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "sendtestemail", "someone@example.test"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = list(tmp_path.iterdir())
    assert files and "someone@example.test" in files[0].read_text()


def _check(database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "phb.settings.dev", "DATABASE_URL": database_url}
    code = "import django; django.setup(); from django.db import connection; print(connection.vendor)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_an_empty_database_url_means_the_local_sqlite_file():
    done = _check("")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sqlite"


def test_a_database_url_without_a_known_backend_stops_the_start_with_a_clear_reason():
    done = _check("db.internal:5432/phb")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "DATABASE_URL names no database backend" in done.stderr

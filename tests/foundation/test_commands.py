"""provision_aws (log groups), seed_demo and production settings."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from hospitals.models import Department, Hospital, HospitalRegistration, StaffMember
from phb.aws.clients import aws_client

ROOT = Path(__file__).resolve().parents[2]


def _provision(*args: str) -> str:
    out = io.StringIO()
    call_command("provision_aws", *args, stdout=out)
    return out.getvalue()


def test_log_groups_exist_with_retention_and_second_run_changes_nothing():
    groups = {g["logGroupName"]: g for g in aws_client("logs").describe_log_groups(logGroupNamePrefix="/phb/")["logGroups"]}
    for name in ("/phb/app", "/phb/medical-records", "/phb/payments", "/phb/appointments", "/phb/tracking", "/phb/audit"):
        assert name in groups
    assert groups["/phb/app"]["retentionInDays"] == 90
    assert groups["/phb/audit"]["retentionInDays"] == 2557
    second = _provision()
    actions = {line.split()[0] for line in second.splitlines()[:-1]}
    assert actions == {"unchanged"}, second
    _provision("--check")


def test_check_reports_drift_and_provision_repairs_it():
    logs = aws_client("logs")
    logs.put_retention_policy(logGroupName="/phb/payments", retentionInDays=1)
    with pytest.raises(CommandError):
        _provision("--check")
    repaired = _provision()
    assert "changed   log-group /phb/payments" in repaired
    _provision("--check")


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings):
    from appointments.models import Appointment

    call_command("seed_demo", stdout=io.StringIO())
    first = (User.objects.count(), Appointment.objects.count(), HospitalRegistration.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (User.objects.count(), Appointment.objects.count(), HospitalRegistration.objects.count()) == first
    hospital = Hospital.objects.get(name="PHB Demo General Hospital")
    assert hospital.auto_approve_registrations
    names = set(Department.objects.filter(hospital=hospital).values_list("name", flat=True))
    assert names == {"General Medicine", "Cardiology", "Neurology", "Orthopedics", "Gastroenterology", "ENT",
                     "Obstetrics & Gynaecology"}
    patient = User.objects.get(email="patient@phb.test")
    assert patient.role == "patient" and patient.check_password(settings.DEMO_PASSWORD)
    assert HospitalRegistration.objects.get(user=patient).status == "approved"
    doctor = StaffMember.objects.get(user__email="doctor@phb.test")
    assert doctor.department.name == "General Medicine" and doctor.user.role == "doctor"
    assert User.objects.get(email="admin@phb.test").role == "hospital_admin"


def _production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_ENDPOINT"))}
    env.update(
        DJANGO_SETTINGS_MODULE="phb.settings.production",
        PHB_ENVIRONMENT="production",
        DJANGO_SECRET_KEY="x" * 64 + "-production-secret-key-for-the-check",
        JWT_SIGNING_KEY="j" * 64,
        OTP_PEPPER="p" * 40,
        USER_REF_KEY="u" * 40,
        REDIS_URL="redis://127.0.0.1:6379/0",
        DATABASE_URL="postgres://phb@db.internal:5432/phb",
        EMAIL_URL="smtp+tls://user:pass@smtp.example.com:587",
        DJANGO_ALLOWED_HOSTS="api.phb.example",
        CORS_ALLOWED_ORIGINS="https://phb.example",
        FRONTEND_URL="https://phb.example",
        PAYSTACK_SECRET_KEY="sk_live_placeholder_for_check",
        PAYSTACK_PUBLIC_KEY="pk_live_placeholder_for_check",
    )
    env.update(overrides)
    return env


def test_production_settings_pass_check_deploy():
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["OTP_PEPPER", "PHB_ENVIRONMENT", "FRONTEND_URL"])
def test_production_settings_refuse_to_start_without_secrets(name):
    env = _production_env()
    env.pop(name)
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert f"{name} must be set in production" in done.stderr


@pytest.mark.parametrize("url", ["consolemail://", "filemail:///var/tmp/mail"])
def test_production_settings_refuse_a_mail_backend_that_writes_messages_out(url):
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=_production_env(EMAIL_URL=url),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "EMAIL_URL must name a mail server in production" in done.stderr


def test_production_settings_refuse_a_frontend_address_without_https():
    """Password-reset links carry their token in the address: never over plain HTTP."""
    done = _check(_production_env(FRONTEND_URL="http://phb.example"))
    assert done.returncode != 0
    assert "FRONTEND_URL must be the frontend's https:// address in production" in done.stderr


def test_production_links_and_the_payment_return_use_the_frontend_address():
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.FRONTEND_URL, settings.PAYSTACK_CALLBACK_URL)"],
        cwd=ROOT, env=_production_env(FRONTEND_URL="https://phb.example"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["https://phb.example", "https://phb.example/account/appointments"]


def test_seed_demo_refuses_production():
    done = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=_production_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "refuses to run under production" in done.stderr


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("url", [
    # django-environ reads only the scheme and email_use_tls/email_use_ssl: "?tls=True" is dropped.
    "smtp://user:password@email-smtp.eu-west-1.amazonaws.com:587/?tls=True",
    "smtp://user:password@smtp.example.com:587",
])
def test_production_settings_refuse_a_mail_server_reached_without_tls(url):
    done = _check(_production_env(EMAIL_URL=url))
    assert done.returncode != 0
    assert "EMAIL_URL must reach the mail server over TLS" in done.stderr


def test_production_settings_take_a_relay_on_the_instance_without_tls():
    done = _check(_production_env(EMAIL_URL="smtp://127.0.0.1:25"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_deploy_guides_mail_server_url_starts_production_with_tls():
    """The EMAIL_URL that deploy/README.md tells the operator to store."""
    guide = (ROOT / "deploy" / "README.md").read_text()
    line = next(x for x in guide.splitlines() if x.startswith("put EMAIL_URL "))
    url = line.split('"')[1]
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL)"],
        cwd=ROOT, env=_production_env(EMAIL_URL=url), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"

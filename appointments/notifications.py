"""Emails to the patient about their appointment, queued for after the transaction commits."""

from __future__ import annotations

from django.conf import settings

from phb.notify import send_email_after_commit
from phb.zones import zone_of


def _local(appointment) -> str:
    zone = zone_of(appointment.hospital)
    start = appointment.start.astimezone(zone)
    return f"{start:%A %d %B %Y} at {start:%H:%M} ({zone.key} time)"


def _send(appointment, *, subject: str, lines: list[str], kind: str) -> None:
    patient = appointment.patient
    if not patient.email:
        return
    greeting = f"Dear {patient.full_name}," if patient.full_name else "Hello,"
    body = "\n\n".join(
        [
            greeting,
            *lines,
            f"Reference: {appointment.appointment_id}\n"
            f"Hospital: {appointment.hospital.name}\nDepartment: {appointment.department.name}",
            f"Manage your appointments at {settings.FRONTEND_URL}/account/appointments",
            "PHB",
        ]
    )
    send_email_after_commit(to=patient.email, subject=subject, body=body, kind=kind)


def notify_booked(appointment) -> None:
    _send(
        appointment,
        subject="Your PHB appointment is booked",
        lines=[f"Your appointment is booked for {_local(appointment)}. A doctor will confirm it shortly."],
        kind="appointment_booked",
    )


def notify_confirmed(appointment) -> None:
    _send(
        appointment,
        subject="Your PHB appointment is confirmed",
        lines=[f"A doctor has confirmed your appointment on {_local(appointment)}."],
        kind="appointment_confirmed",
    )


def notify_cancelled(appointment, *, by_patient: bool) -> None:
    who = "You cancelled" if by_patient else "The hospital cancelled"
    lines = [f"{who} your appointment on {_local(appointment)}."]
    if not by_patient and appointment.cancellation_reason:
        lines.append(f"Reason: {appointment.cancellation_reason}")
    if appointment.payment_status == "paid":
        lines.append("Any refund due under the cancellation policy is sent to your original payment method.")
    _send(appointment, subject="Your PHB appointment was cancelled", lines=lines, kind="appointment_cancelled")


def notify_rescheduled(appointment) -> None:
    _send(
        appointment,
        subject="Your PHB appointment was rescheduled",
        lines=[f"Your appointment is now on {_local(appointment)}."],
        kind="appointment_rescheduled",
    )


def notify_needs_new_time(appointment) -> None:
    _send(
        appointment,
        subject="Please choose a new time for your PHB appointment",
        lines=[
            f"The hospital cannot see you on {_local(appointment)}. "
            "Please choose a new time for this appointment from your appointments page."
        ],
        kind="appointment_needs_new_time",
    )

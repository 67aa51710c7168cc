"""Emails to the patient about their prescription request, sent after commit.

The message names no medication and carries no clinician's free text: an email may be read by
others. The details are in the patient's account."""

from __future__ import annotations

from django.conf import settings

from phb.notify import send_email_after_commit
from prescriptions.models import PrescriptionRequest, RequestStatus


def _send(request: PrescriptionRequest, *, subject: str, lines: list[str], kind: str) -> None:
    patient = request.patient
    if not patient.email:
        return
    greeting = f"Dear {patient.full_name}," if patient.full_name else "Hello,"
    body = "\n\n".join([greeting, *lines, f"Reference: {request.reference}",
                        f"See your prescriptions at {settings.FRONTEND_URL}/account/prescriptions", "PHB"])
    send_email_after_commit(to=patient.email, subject=subject, body=body, kind=kind)


def notify_approved(request: PrescriptionRequest) -> None:
    """Names the pharmacy the prescription is sent to, as its signed items are routed: not the one
    the request named if that one has closed since."""
    from prescriptions.signing_flow import routed_pharmacy

    pharmacy = routed_pharmacy(request=request, patient=request.patient)
    where = (f"It has been sent to {pharmacy.name}." if pharmacy is not None
             else "Show the QR code of your prescription at any pharmacy.")
    _send(request, subject="Your prescription request was approved",
          lines=["Your prescription request was approved.", where], kind="prescription_approved")


def notify_rejected(request: PrescriptionRequest) -> None:
    """The reason is free text that may name the medicine or a condition: the email says where to
    read it, not what it is. A prescription already issued and now cancelled (by the pharmacy, or
    by the prescriber after an escalation) is said to be cancelled: the patient was told it was
    approved, and its QR code no longer works."""
    if request.status == RequestStatus.CANCELLED:
        subject = "Your prescription was cancelled"
        lines = ["Your prescription was cancelled: it can no longer be collected or dispensed.",
                 "The reason is with the request in your PHB account."]
    else:
        subject = "Your prescription request was not approved"
        lines = ["Your prescription request was not approved.",
                 "The reason is with the request in your PHB account."]
    if request.requires_follow_up:
        lines.append("Please book an appointment so a clinician can review your medication.")
    _send(request, subject=subject, lines=lines, kind="prescription_rejected")


def notify_ready(request: PrescriptionRequest) -> None:
    name = request.pharmacy.name if request.pharmacy_id else "your pharmacy"
    _send(request, subject="Your prescription is ready to collect",
          lines=[f"Your prescription is ready to collect at {name}."], kind="prescription_ready")

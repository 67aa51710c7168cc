"""Payments (contract §4): Y1 status, Y2 initialize, Y3 verify, Y4 history, one payment, a hospital's
refund, and the Paystack webhook."""

from __future__ import annotations

import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.throttles import client_ip
from hospitals.selectors import admin_hospital_of
from payments import checkout, refunds, selectors, services, webhooks
from payments.gateway import BadSignature, get_gateway
from payments.serializers import InitializeInput, RefundInput, history_item, money, payment_detail, verify_payload
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.serializers import validated
from phb.api.views import ApiView, PublicApiView, ScopedAPIView

logger = logging.getLogger(__name__)


class PaymentStatusView(PublicApiView):
    """Y1. Public: it only describes the service (errors are swallowed by the frontend anyway)."""

    @extend_schema(responses={200: dict}, summary="Y1 are payments on")
    def get(self, request: Request) -> Response:
        enabled = checkout.payments_enabled()
        return Response(
            {
                "payments_enabled": enabled,
                "free_appointments": not enabled,
                "available_providers": ["paystack"] if enabled else [],
                "currency": settings.PAYMENTS_CURRENCY,
                "message": "Payments are enabled." if enabled else "Appointments are currently free of charge.",
            }
        )


class PaymentInitializeView(ApiView):
    """Y2. Payment-first booking: the whole booking in, a checkout (or a waived booking) out."""

    access = Access.OWN

    @extend_schema(request=InitializeInput, responses={200: dict, 400: dict, 409: dict, 502: dict},
                   summary="Y2 start paying for a booking")
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        if data.get("appointment_id") and "department_id" not in data:
            raise ApiError(
                "Send the booking (hospital_id, department_id, appointment_date, ...): the appointment is created "
                "once the payment is confirmed.",
                code="booking_required",
            )
        serializer = InitializeInput(data=data)
        serializer.is_valid(raise_exception=True)
        outcome = checkout.payment_initialize(patient=request.user, booking=serializer.booking())
        payment = outcome.payment
        if outcome.waived:
            return Response(
                {
                    "success": True,
                    "payments_enabled": checkout.payments_enabled(),
                    "payment_status": "waived",
                    "status": "waived",
                    "id": str(payment.pk),
                    "reference": payment.reference,
                    "appointment_id": outcome.appointment.appointment_id if outcome.appointment else None,
                    "amount": 0,
                    "currency": payment.currency,
                    "message": f"{payment.status_reason} Your appointment is booked.",
                },
                status=201,
            )
        return Response(
            {
                "success": True,
                "payments_enabled": True,
                "payment_status": "pending",
                "status": "pending",
                "id": str(payment.pk),
                "payment_url": payment.authorization_url,
                "authorization_url": payment.authorization_url,
                "payment_id": payment.access_code,
                "access_code": payment.access_code,
                "provider_reference": payment.reference,
                "reference": payment.reference,
                "amount": money(payment.amount),
                "currency": payment.currency,
                "hold_expires_at": payment.hold_expires_at.isoformat() if payment.hold_expires_at else None,
                "message": "Complete the payment to confirm your appointment.",
            }
        )


class PaymentVerifyView(ScopedAPIView):
    """Y3. Only the payer's own payments; anyone else's reference is a 404."""

    access = Access.OWN

    def scoped_queryset(self, user):
        return selectors.payment_list(fetched_by=user)

    @extend_schema(responses={200: dict, 404: dict, 502: dict}, summary="Y3 verify a payment")
    def get(self, request: Request, reference: str) -> Response:
        payment = self.get_scoped_object(request, reference=reference)
        payment = services.payment_verify(payment=payment)
        payment = self.scoped_queryset(request.user).get(pk=payment.pk)
        return Response(verify_payload(payment))


class PaymentHistoryView(ScopedAPIView):
    """Y4."""

    access = Access.OWN

    def scoped_queryset(self, user):
        return selectors.payment_list(fetched_by=user)

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict}, summary="Y4 my payments (paged)",
                   description="Newest first. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, self.scoped_queryset(request.user), spec=pagination.RECENT_FIRST)
        payments = [history_item(p) for p in page.items]
        return page.response({"success": True, "payments": payments, "count": len(payments)})


class PaymentDetailView(ScopedAPIView):
    """One payment: the payer's own, or for a hospital administrator one for an appointment at her
    hospital; anyone else's is a 404."""

    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user):
        return selectors.payment_scope(fetched_by=user)

    @extend_schema(responses={200: dict, 404: dict}, summary="One payment")
    def get(self, request: Request, payment_id: str) -> Response:
        return Response(payment_detail(self.get_scoped_object(request, pk=payment_id)))


class PaymentRefundView(ScopedAPIView):
    """A hospital administrator refunds a completed payment for an appointment at her hospital, in
    full or in part; the refund settles through the provider's webhooks as the policy's refunds do."""

    access = Access.STAFF

    def scoped_queryset(self, user):
        return selectors.payments_refundable_by(fetched_by=user)

    @extend_schema(request=RefundInput, responses={200: dict, 202: dict, 400: dict, 403: dict, 404: dict, 409: dict},
                   summary="A hospital refunds a payment",
                   description="200 when the provider accepted the refund (it settles through its webhooks), 202 "
                               "when the refund is recorded and the provider is asked again later.")
    def post(self, request: Request, payment_id: str) -> Response:
        if admin_hospital_of(user=request.user) is None:
            raise ApiError("Only hospital administrators can refund payments.", status_code=403,
                           code="not_hospital_admin")
        payment = self.get_scoped_object(request, pk=payment_id)
        data = validated(RefundInput, request.data)
        payment = refunds.refund_by_hospital(payment=payment, actor=request.user, amount=data.get("amount"),
                                             reason=data["reason"])
        payment = self.scoped_queryset(request.user).get(pk=payment.pk)
        accepted = bool(payment.refund_provider_id)
        message = ("Refund requested: the payment provider accepted it." if accepted else
                   "Refund recorded: the payment provider did not accept it yet and will be asked again.")
        return Response({"success": True, "message": message, "payment": payment_detail(payment)},
                        status=200 if accepted else 202)


class PaystackWebhookView(PublicApiView):
    """Paystack → us. The signature is checked over the raw bytes before anything parses them."""

    json_body_is_object = False

    @extend_schema(request=None, responses={200: dict, 401: OpenApiResponse(description="bad signature")},
                   summary="Paystack webhook")
    def post(self, request: Request) -> Response:
        raw_body = request.body  # the exact bytes Paystack signed; nothing has parsed them
        allowed = settings.PAYSTACK_WEBHOOK_ALLOWED_IPS
        if allowed and client_ip(request) not in allowed:
            logger.warning("webhook from an unexpected address", extra={"event": "webhook_source_refused"})
            raise ApiError("Forbidden.", status_code=403, code="forbidden")
        gateway = get_gateway()
        try:
            event = gateway.parse_webhook(raw_body=raw_body, signature=request.headers.get("x-paystack-signature"))
        except BadSignature:
            logger.warning("webhook with a bad signature", extra={"event": "webhook_bad_signature"})
            raise ApiError("Invalid signature.", status_code=401, code="invalid_signature")
        except ValueError:
            raise ApiError("Invalid webhook body.", code="invalid_body")
        outcome = webhooks.webhook_handle(event=event)
        logger.info("webhook handled", extra={"event": "webhook_handled", "webhook_event": event.event[:48],
                                               "result": outcome.result})
        return Response({"status": "ok", "result": outcome.result})

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appointments.signals import appointment_cancelled
        from payments.refunds import refund_on_cancel

        appointment_cancelled.connect(refund_on_cancel, dispatch_uid="payments.refund_on_cancel")

from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"
    verbose_name = "Prescriptions: requests, approval, triage, signing, dispensing"

    def ready(self) -> None:
        from appointments.signals import prescription_issued
        from prescriptions.signing_flow import on_prescription_issued

        prescription_issued.connect(on_prescription_issued, dispatch_uid="prescriptions.sign_issued")

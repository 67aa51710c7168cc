from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage: guidelines, prescription documents, imaging"

    def ready(self) -> None:
        from appointments.signals import prescription_issued
        from storage.prescription_documents import on_prescription_issued

        prescription_issued.connect(on_prescription_issued, dispatch_uid="storage.prescription_document")

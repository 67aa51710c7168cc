from django.urls import path

from records import clinician_views, document_views, views

urlpatterns = [
    # M1–M4 and the patient's own controls
    path("patient/medical-record/", views.MedicalRecordView.as_view(), name="medical-record"),
    path("patient/medical-record/request-otp/", views.MedAccessCodeRequestView.as_view(),
         name="medical-record-request-otp"),
    path("patient/medical-record/verify-otp/", views.MedAccessCodeVerifyView.as_view(),
         name="medical-record-verify-otp"),
    path("patient/medical-record/summary/", views.MedicalRecordSummaryView.as_view(), name="medical-record-summary"),
    path("patient/medical-record/export/", views.MedicalRecordExportView.as_view(), name="medical-record-export"),
    path("patient/medical-record/access-log/", views.AccessLogView.as_view(), name="medical-record-access-log"),
    path("patient/medical-record/end-access/", views.MedAccessEndView.as_view(), name="medical-record-end-access"),
    path("patient/medical-record/consents/", views.PatientConsentsView.as_view(), name="medical-record-consents"),
    path("patient/medical-record/consents/<uuid:consent_id>/revoke/", views.PatientConsentRevokeView.as_view(),
         name="medical-record-consent-revoke"),
    # M7–M10
    path("secure/files/", document_views.DocumentListView.as_view(), name="secure-files"),
    path("secure/files/<uuid:file_id>/preview/", document_views.DocumentPreviewView.as_view(), name="secure-file-preview"),
    path("secure/files/<uuid:file_id>/delete/", document_views.DocumentDeleteView.as_view(), name="secure-file-delete"),
    path("secure/upload/", document_views.DocumentUploadView.as_view(), name="secure-upload"),
    # M11–M13
    path("medical-records/request-access/", clinician_views.LegacyAccessRequestView.as_view(),
         name="medical-records-request-access"),
    path("medical-records/verify-access/", clinician_views.LegacyAccessVerifyView.as_view(),
         name="medical-records-verify-access"),
    path("medical-records/<uuid:record_id>/", clinician_views.LegacyRecordView.as_view(), name="medical-records-detail"),
    # M14–M18
    path("professional/patient/<uuid:patient_id>/medical-access/<str:appointment_id>/",
         clinician_views.MedicalAccessStatusView.as_view(), name="professional-medical-access"),
    path("professional/patient/<uuid:patient_id>/access-logs/", clinician_views.ClinicianAccessLogsView.as_view(),
         name="professional-access-logs"),
    path("professional/patient/<uuid:patient_id>/consents/", clinician_views.ClinicianConsentsView.as_view(),
         name="professional-consents"),
    path("professional/patient/<uuid:patient_id>/request-access/", clinician_views.ClinicianAccessRequestView.as_view(),
         name="professional-request-access"),
    path("professional/patients/<uuid:patient_id>/medical-records/", clinician_views.ClinicianPatientRecordView.as_view(),
         name="professional-patient-records"),
    path("professional/patients/<uuid:patient_id>/medical-profile/", clinician_views.ClinicianPatientProfileView.as_view(),
         name="professional-patient-profile"),
]

from django.urls import path

from prescriptions import views_patient as patient
from prescriptions import views_provider as provider
from prescriptions import views_search as search
from prescriptions import views_triage as triage

P = "prescriptions/"
D = "provider/prescriptions/"
T = D + "triage/"

urlpatterns = [
    # patients (the list of issued medications, GET prescriptions/, is served by appointments)
    path(P + "requests/", patient.PrescriptionRequestsView.as_view(), name="prescription-requests"),
    # pharmacies: the QR code flow (PharmacyVerification.tsx posts to API_URL, i.e. .../api)
    path(P + "verify/", patient.VerifyView.as_view(), name="prescription-verify"),
    path(P + "dispense/", patient.DispenseView.as_view(), name="prescription-dispense"),
    path(P + "signing-key/", patient.SigningKeyView.as_view(), name="prescription-signing-key"),
    path(P + "<str:prescription_id>/", patient.PrescriptionDetailView.as_view(), name="prescription-detail"),
    path(P + "<str:prescription_id>/order/", patient.PrescriptionOrderView.as_view(), name="prescription-order"),
    path(P + "<str:prescription_id>/update-status/", patient.PrescriptionUpdateStatusView.as_view(),
         name="prescription-update-status"),
    path(P + "<str:prescription_id>/complete/", patient.PrescriptionCompleteView.as_view(),
         name="prescription-complete"),
    # pharmacists
    path("pharmacy/prescriptions/search/", search.PharmacyPrescriptionSearchView.as_view(),
         name="pharmacy-prescription-search"),
    path(T, triage.TriageListView.as_view(), name="triage-list"),
    path(T + "stats/", triage.TriageStatsView.as_view(), name="triage-stats"),
    path(T + "<uuid:request_id>/", triage.TriageDetailView.as_view(), name="triage-detail"),
    path(T + "<uuid:request_id>/approve/", triage.TriageApproveView.as_view(), name="triage-approve"),
    path(T + "<uuid:request_id>/escalate/", triage.TriageEscalateView.as_view(), name="triage-escalate"),
    path(T + "<uuid:request_id>/reject/", triage.TriageRejectView.as_view(), name="triage-reject"),
    # prescribers (the frontend posts approve/reject without a trailing slash: both are served)
    path(D, provider.ProviderRequestsView.as_view(), name="provider-prescriptions"),
    path(D + "<uuid:request_id>/", provider.ProviderRequestDetailView.as_view(), name="provider-prescription"),
    path(D + "<uuid:request_id>/approve/", provider.ProviderApproveView.as_view(), name="provider-approve"),
    path(D + "<uuid:request_id>/approve", provider.ProviderApproveNoSlashView.as_view()),
    path(D + "<uuid:request_id>/reject/", provider.ProviderRejectView.as_view(), name="provider-reject"),
    path(D + "<uuid:request_id>/reject", provider.ProviderRejectNoSlashView.as_view()),
]

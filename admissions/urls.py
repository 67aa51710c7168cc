from django.urls import path

from admissions import views

urlpatterns = [
    path("admissions/", views.AdmissionListView.as_view(), name="admissions"),
    path("admissions/emergency_admission/", views.EmergencyAdmissionView.as_view(), name="admissions-emergency"),
    path("admissions/dashboard/", views.DashboardView.as_view(), name="admissions-dashboard"),
    path("admissions/wards/", views.WardListView.as_view(), name="admissions-wards"),
    path("admissions/beds/<dbint:bed_id>/status/", views.BedStatusView.as_view(), name="admissions-bed-status"),
    path("admissions/<str:admission_ref>/", views.AdmissionDetailView.as_view(), name="admission-detail"),
    path("admissions/<str:admission_ref>/admit/", views.AdmitView.as_view(), name="admission-admit"),
    path("admissions/<str:admission_ref>/transfer/", views.TransferView.as_view(), name="admission-transfer"),
    path("admissions/<str:admission_ref>/discharge/", views.DischargeView.as_view(), name="admission-discharge"),
    path("admissions/<str:admission_ref>/cancel/", views.CancelView.as_view(), name="admission-cancel"),
    path("admissions/<str:admission_ref>/link_patient/", views.LinkPatientView.as_view(), name="admission-link-patient"),
]

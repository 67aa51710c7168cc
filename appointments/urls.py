from django.urls import path

from appointments import views

A = "appointments/<str:ref>/"

urlpatterns = [
    # Patient (P3–P5, M5, M6) and slots.
    path("appointments/", views.AppointmentListView.as_view(), name="appointment-list"),
    path("appointments/slots/", views.SlotsView.as_view(), name="appointment-slots"),
    path("appointments/check-conflict/", views.CheckConflictView.as_view(), name="appointment-check-conflict"),
    path(A, views.AppointmentDetailView.as_view(), name="appointment-detail"),
    path(A + "summary/", views.AppointmentSummaryView.as_view(), name="appointment-summary"),
    path(A + "cancel/", views.CancelView.as_view(), name="appointment-cancel"),
    path(A + "reschedule/", views.RescheduleView.as_view(), name="appointment-reschedule"),
    # Doctor (D1–D16).
    path("department-pending-appointments/", views.DepartmentQueueView.as_view(), name="department-queue"),
    path("doctor-appointments/", views.DoctorAppointmentListView.as_view(), name="doctor-appointment-list"),
    path("doctor-appointments/<str:ref>/", views.DoctorAppointmentDetailView.as_view(),
         name="doctor-appointment-detail"),
    path("doctor-appointments/<str:ref>/status/", views.DoctorStatusView.as_view(), name="doctor-appointment-status"),
    path(A + "accept/", views.AcceptView.as_view(), name="appointment-accept"),
    path(A + "start-consultation/", views.StartView.as_view(), name="appointment-start"),
    path(A + "complete-consultation/", views.CompleteView.as_view(), name="appointment-complete"),
    path(A + "add-notes/", views.AddNotesView.as_view(), name="appointment-add-notes"),
    path(A + "no-show/", views.NoShowView.as_view(), name="appointment-no-show"),
    path(A + "prescriptions/", views.PrescriptionCreateView.as_view(), name="appointment-prescriptions"),
    path(A + "prescriptions/view/", views.PrescriptionViewView.as_view(), name="appointment-prescriptions-view"),
    path(A + "notes/", views.NotesView.as_view(), name="appointment-notes"),
    path(A + "notes/edit/", views.NotesEditView.as_view(), name="appointment-notes-edit"),
    path(A + "notes/delete/", views.NotesDeleteView.as_view(), name="appointment-notes-delete"),
    path(A + "refer/", views.ReferView.as_view(), name="appointment-refer"),
    # Hospital admin (O1).
    path("hospitals/appointments/", views.HospitalAppointmentsView.as_view(), name="hospital-appointments"),
    # The patient's prescriptions (contract §6.3).
    path("prescriptions/", views.MyPrescriptionsView.as_view(), name="my-prescriptions"),
]

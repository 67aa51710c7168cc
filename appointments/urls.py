from django.urls import path

from appointments import doctor_views, staff_views, views
from appointments.scheduler import views as scheduler_views

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
    path("department-pending-appointments/", doctor_views.DepartmentQueueView.as_view(), name="department-queue"),
    path("doctor-appointments/", doctor_views.DoctorAppointmentListView.as_view(), name="doctor-appointment-list"),
    path("doctor-appointments/<str:ref>/", doctor_views.DoctorAppointmentDetailView.as_view(),
         name="doctor-appointment-detail"),
    path("doctor-appointments/<str:ref>/status/", doctor_views.DoctorStatusView.as_view(), name="doctor-appointment-status"),
    path(A + "accept/", doctor_views.AcceptView.as_view(), name="appointment-accept"),
    path(A + "start-consultation/", doctor_views.StartView.as_view(), name="appointment-start"),
    path(A + "complete-consultation/", doctor_views.CompleteView.as_view(), name="appointment-complete"),
    path(A + "add-notes/", doctor_views.AddNotesView.as_view(), name="appointment-add-notes"),
    path(A + "no-show/", doctor_views.NoShowView.as_view(), name="appointment-no-show"),
    path(A + "prescriptions/", doctor_views.PrescriptionCreateView.as_view(), name="appointment-prescriptions"),
    path(A + "prescriptions/view/", doctor_views.PrescriptionViewView.as_view(), name="appointment-prescriptions-view"),
    path(A + "notes/", doctor_views.NotesView.as_view(), name="appointment-notes"),
    path(A + "notes/edit/", doctor_views.NotesEditView.as_view(), name="appointment-notes-edit"),
    path(A + "notes/delete/", doctor_views.NotesDeleteView.as_view(), name="appointment-notes-delete"),
    path(A + "refer/", doctor_views.ReferView.as_view(), name="appointment-refer"),
    # Hospital admin (O1).
    path("hospitals/appointments/", views.HospitalAppointmentsView.as_view(), name="hospital-appointments"),
    # The patient's prescriptions (contract §6.3).
    path("prescriptions/", views.MyPrescriptionsView.as_view(), name="my-prescriptions"),
]

# Staff, rosters and the scheduler's recommendations.
urlpatterns += [
    path("staff/", staff_views.StaffView.as_view(), name="staff-list"),
    path("staff/availability/", staff_views.AvailabilityView.as_view(), name="staff-availability"),
    path("staff/roster/sessions/", staff_views.SessionListView.as_view(), name="roster-sessions"),
    path("staff/roster/sessions/<dbint:session_id>/", staff_views.SessionDetailView.as_view(), name="roster-session-detail"),
    path("staff/roster/exceptions/", staff_views.ExceptionListView.as_view(), name="roster-exceptions"),
    path("staff/roster/exceptions/<dbint:exception_id>/", staff_views.ExceptionDetailView.as_view(),
         name="roster-exception-detail"),
    path("ml/optimize-appointment", scheduler_views.OptimizeAppointmentView.as_view(), name="ml-optimize"),
    path("ml/optimize-appointment/", scheduler_views.OptimizeAppointmentSlashView.as_view()),
]

from django.urls import path

from hospitals import views

urlpatterns = [
    path("user/has-primary-hospital/", views.HasPrimaryHospitalView.as_view(), name="has-primary-hospital"),
    path("hospitals/", views.HospitalListView.as_view(), name="hospital-list"),
    path("hospitals/nearby/", views.HospitalNearbyView.as_view(), name="hospital-nearby"),
    path("hospitals/search/", views.HospitalSearchView.as_view(), name="hospital-search"),
    path("hospitals/register/", views.HospitalRegisterView.as_view(), name="hospital-register"),
    path("hospitals/registrations/", views.MyRegistrationsView.as_view(), name="hospital-registrations"),
    path("hospitals/admin/login/", views.AdminLoginView.as_view(), name="hospital-admin-login"),
    path("hospitals/admin/verify-2fa/", views.AdminVerifyView.as_view(), name="hospital-admin-verify"),
    path("hospitals/admin/reset-password/request/", views.AdminResetRequestView.as_view(),
         name="hospital-admin-reset-request"),
    path("hospitals/admin/reset-password/verify/", views.AdminResetVerifyView.as_view(),
         name="hospital-admin-reset-verify"),
    path("hospitals/admin/reset-password/complete/", views.AdminResetCompleteView.as_view(),
         name="hospital-admin-reset-complete"),
    path("hospitals/admin/profile/", views.AdminProfileView.as_view(), name="hospital-admin-profile"),
    path("hospitals/admin/registrations/", views.AdminRegistrationListView.as_view(), name="hospital-admin-registrations"),
    path("hospitals/admin/registrations/<uuid:registration_id>/approve/",
         views.AdminRegistrationDecisionView.as_view(approve=True), name="hospital-admin-registration-approve"),
    path("hospitals/admin/registrations/<uuid:registration_id>/reject/",
         views.AdminRegistrationDecisionView.as_view(approve=False), name="hospital-admin-registration-reject"),
    path("departments/", views.PrimaryDepartmentsView.as_view(), name="departments"),
    path("departments/<int:hospital_id>/", views.HospitalDepartmentsView.as_view(), name="hospital-departments"),
    path("registry/my-info/", views.RegistryMyInfoView.as_view(), name="registry-my-info"),
]

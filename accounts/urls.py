from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("verify-login-otp/", views.VerifyLoginCodeView.as_view(), name="verify-login-otp"),
    path("resend-otp/", views.ResendLoginCodeView.as_view(), name="resend-otp"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("registration/", views.RegisterView.as_view(), name="registration"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("user/role/", views.RoleView.as_view(), name="user-role"),
    path("onboarding/update/", views.OnboardingView.as_view(), name="onboarding-update"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password-change"),
    path("password/reset/", views.PasswordResetRequestView.as_view(), name="password-reset"),
    path("password/reset/confirm/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
]

from django.urls import path

from payments import views

urlpatterns = [
    path("payments/status/", views.PaymentStatusView.as_view(), name="payments-status"),
    path("payments/initialize/", views.PaymentInitializeView.as_view(), name="payments-initialize"),
    path("payments/verify/<str:reference>/", views.PaymentVerifyView.as_view(), name="payments-verify"),
    path("payments/history/", views.PaymentHistoryView.as_view(), name="payments-history"),
    path("payments/webhook/", views.PaystackWebhookView.as_view(), name="payments-webhook"),
]

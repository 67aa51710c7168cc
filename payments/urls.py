from django.urls import path

from payments import views

urlpatterns = [
    path("payments/status/", views.PaymentStatusView.as_view(), name="payments-status"),
    path("payments/initialize/", views.PaymentInitializeView.as_view(), name="payments-initialize"),
    path("payments/verify/<str:reference>/", views.PaymentVerifyView.as_view(), name="payments-verify"),
    path("payments/history/", views.PaymentHistoryView.as_view(), name="payments-history"),
    path("payments/webhook/", views.PaystackWebhookView.as_view(), name="payments-webhook"),
    path("payments/<uuid:payment_id>/", views.PaymentDetailView.as_view(), name="payments-detail"),
    path("payments/<uuid:payment_id>/refund/", views.PaymentRefundView.as_view(), name="payments-refund"),
]

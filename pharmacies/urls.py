from django.urls import path

from pharmacies import views

urlpatterns = [
    path("pharmacies/", views.PharmacyListView.as_view(), name="pharmacy-list"),
    path("pharmacies/nearby/", views.PharmacyNearbyView.as_view(), name="pharmacy-nearby"),
    path("pharmacies/nominated/", views.NominatedPharmacyView.as_view(), name="pharmacy-nominated"),
    path("pharmacies/nomination-history/", views.NominationHistoryView.as_view(), name="pharmacy-nomination-history"),
    path("pharmacies/<str:pharmacy_id>/", views.PharmacyDetailView.as_view(), name="pharmacy-detail"),
    path("practice-pages/nominatable-pharmacies/", views.NominatablePharmaciesView.as_view(),
         name="nominatable-pharmacies"),
]

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from phb import health

handler400 = "phb.api.errors.handler400"
handler403 = "phb.api.errors.handler403"
handler404 = "phb.api.errors.handler404"
handler500 = "phb.api.errors.handler500"

api_patterns = [
    path("", include("accounts.urls")),
    path("", include("hospitals.urls")),
    path("", include("records.urls")),
    path("", include("appointments.urls")),
    path("", include("payments.urls")),
    path("", include("tracking.urls")),
    path("", include("storage.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("healthz/", health.healthz),
    path("readyz", health.readyz, name="readyz"),
    path("readyz/", health.readyz),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include(api_patterns)),
]

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from phb import health
from phb.api import converters  # noqa: F401  (registers <dbint:...>)
from phb.api.access import Access, declare
from phb.api.routing import SegmentIndexedResolver
from phb.observability.client_errors import ClientErrorReportView

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
    path("client-errors/", ClientErrorReportView.as_view(), name="client-errors"),
    path("", include("admissions.urls")),
    path("", include("pharmacies.urls")),
    path("", include("prescriptions.urls")),
]

urlpatterns = [
    path("healthz", declare(health.healthz, Access.PUBLIC), name="healthz"),
    path("healthz/", health.healthz),
    path("readyz", declare(health.readyz, Access.PUBLIC), name="readyz"),
    path("readyz/", health.readyz),
    path("admin/", admin.site.urls),
    path("api/schema/", declare(SpectacularAPIView.as_view(), Access.PUBLIC), name="schema"),
    path("api/docs/", declare(SpectacularSwaggerView.as_view(url_name="schema"), Access.PUBLIC), name="swagger-ui"),
    SegmentIndexedResolver.of(path("api/", include(api_patterns))),  # resolves by first segment
]

"""The real URLs plus a bare Django view returning constant JSON (the throughput baseline)."""

from django.http import JsonResponse
from django.urls import path

from phb.urls import urlpatterns as real_urlpatterns


def constant_json(request):
    return JsonResponse({"status": "ok", "value": 42})


urlpatterns = [path("bench/constant/", constant_json), *real_urlpatterns]

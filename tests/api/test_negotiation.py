"""Content negotiation kept per Accept header chooses exactly what DRF's own negotiation chooses."""

from __future__ import annotations

import itertools

import pytest
from django.http import Http404
from django.test import RequestFactory
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request

from phb.api import negotiation
from phb.api.negotiation import KeptContentNegotiation
from phb.api.renderers import FastJSONRenderer

ACCEPTS = [
    None, "*/*", "", "application/json", "application/json, text/plain, */*", "text/html",
    "application/json; indent=4", "text/html;q=0.9, application/json;q=0.8", "image/png", "application/*",
    "text/*", "garbage", "application/vnd.oai.openapi+json", "application/vnd.oai.openapi",
    "application/json;q=0", "*/*; charset=utf-8", "x" * 600,
]
QUERIES = ["", "limit=5", "format=json", "format=api", "format=openapi-json", "%66ormat=json", "a=%20b", "format=nope"]
RENDERER_SETS = [
    [FastJSONRenderer],
    [FastJSONRenderer, BrowsableAPIRenderer],
    [JSONRenderer, TemplateHTMLRenderer],
    [OpenApiYamlRenderer, OpenApiJsonRenderer],
]


def _choice(negotiator, accept, query, renderer_classes):
    renderers = [cls() for cls in renderer_classes]
    extra = {"HTTP_ACCEPT": accept} if accept is not None else {}
    request = Request(RequestFactory().get(f"/api/profile/?{query}" if query else "/api/profile/", **extra))
    try:
        renderer, media_type = negotiator.select_renderer(request, renderers)
    except (exceptions.NotAcceptable, Http404) as exc:
        return type(exc).__name__
    return renderers.index(renderer), type(renderer), media_type


@pytest.mark.parametrize("renderer_classes", RENDERER_SETS, ids=lambda s: "+".join(c.__name__ for c in s))
def test_the_kept_choice_is_drfs_choice_first_and_later(renderer_classes):
    negotiation._kept.clear()
    kept, drf = KeptContentNegotiation(), DefaultContentNegotiation()
    for _ in range(2):  # the first time works it out, the second reads what was kept
        for accept, query in itertools.product(ACCEPTS, QUERIES):
            assert _choice(kept, accept, query, renderer_classes) == _choice(drf, accept, query, renderer_classes), (
                accept, query)


def test_a_later_request_does_not_parse_the_header_again(monkeypatch):
    negotiation._kept.clear()
    kept = KeptContentNegotiation()
    assert _choice(kept, "application/json, text/plain, */*", "limit=5", [FastJSONRenderer])[0] == 0

    def parsing(*args, **kwargs):
        raise AssertionError("negotiated afresh")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", parsing)
    assert _choice(kept, "application/json, text/plain, */*", "limit=9", [FastJSONRenderer])[0] == 0
    with pytest.raises(AssertionError):  # a query string that may name a format is read DRF's way
        _choice(kept, "application/json, text/plain, */*", "format=json", [FastJSONRenderer])


def test_the_table_is_bounded():
    negotiation._kept.clear()
    kept = KeptContentNegotiation()
    for n in range(negotiation.KEPT_ANSWERS + 50):
        _choice(kept, f"application/json; v={n}", "", [FastJSONRenderer])
    assert len(negotiation._kept) == negotiation.KEPT_ANSWERS


def test_an_api_request_that_accepts_no_json_is_a_json_406(client):
    for _ in range(2):
        response = client.get("/api/hospitals/", HTTP_ACCEPT="text/html")
        assert response.status_code == 406
        assert response["Content-Type"].startswith("application/json")
        assert "message" in response.json()

"""The Content-Security-Policy header, built once per policy: the same header django-csp would
send, on every kind of answer, and django-csp's own way for a view that adjusts it."""

from http import HTTPStatus

import pytest
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from pamedspa.middleware import ContentSecurityPolicyMiddleware

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/privacy/",
        "/accounts/login/",
        "/healthz/",
        "/no-such-page/",
        "/static/css/does-not-exist.css",
    ],
)
def test_every_answer_carries_the_policy_from_settings(client, url):
    header = client.get(url).headers["Content-Security-Policy"]
    assert _directives(header) == _directives(build_policy())


def _answer(view, middleware_class):
    request = RequestFactory().get("/")
    middleware = middleware_class(lambda request: view(request))
    return middleware(request)


def _plain(request):
    return HttpResponse("plain")


@csp_update({"img-src": ["https://images.example"]})
def _adjusted(request):
    return HttpResponse("adjusted")


@csp_exempt()
def _exempt(request):
    return HttpResponse("exempt")


@pytest.mark.parametrize("view", [_plain, _adjusted, _exempt])
def test_views_that_adjust_the_policy_get_what_django_csp_would_send(view):
    ours = _answer(view, ContentSecurityPolicyMiddleware)
    theirs = _answer(view, CSPMiddleware)
    assert ours.status_code == theirs.status_code == HTTPStatus.OK
    ours_header = ours.headers.get("Content-Security-Policy")
    theirs_header = theirs.headers.get("Content-Security-Policy")
    if theirs_header is None:
        assert ours_header is None
    else:
        assert _directives(ours_header) == _directives(theirs_header)


def test_the_adjusted_view_does_allow_its_extra_source():
    header = _answer(_adjusted, ContentSecurityPolicyMiddleware).headers
    assert "https://images.example" in _directives(header["Content-Security-Policy"])["img-src"]


def test_a_changed_policy_is_sent_at_once(client, settings):
    client.get(reverse("home"))  # built once
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "img-src": ["'none'"]}
    }
    header = client.get(reverse("home")).headers["Content-Security-Policy"]
    assert _directives(header)["img-src"] == "'none'"

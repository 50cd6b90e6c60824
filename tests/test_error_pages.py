"""Error pages wear the site's design and never show a traceback."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _assert_friendly(response, heading: str) -> None:
    html = response.content.decode()
    assert heading in html
    assert 'class="site-header"' in html
    assert "Traceback" not in html
    assert " style=" not in html


def test_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    _assert_friendly(response, "Page not found")


def test_500_page(client, monkeypatch, settings):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("policy.caching.SnapshotStore.get", explode)
    client.raise_request_exception = False
    response = client.get(reverse("policy:current", kwargs={"document": "privacy"}))
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    _assert_friendly(response, "Something went wrong")
    assert "secret internals" not in response.content.decode()


def test_csrf_failure_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_login"), {"login": "x", "password": "y"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    _assert_friendly(response, "Your form expired")


def test_unknown_host_gets_400(client):
    response = client.get("/privacy/", headers={"host": "evil.example"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    _assert_friendly(response, "Bad request")

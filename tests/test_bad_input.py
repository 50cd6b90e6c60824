"""Hostile input gets a clear 400, never a 500 or silently altered data."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
REMIND = reverse("account_username_reminder")


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    "body",
    [b"email=%FF%FE%40example.com", b"email=\xff\xfe@example.com", b"email=caf%C3"],
    ids=["percent-encoded", "raw bytes", "truncated sequence"],
)
def test_a_form_body_that_is_not_utf8_gets_400(client, body, mailoutbox):
    response = client.post(REMIND, data=body, content_type=FORM)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Bad request" in response.content.decode()
    assert mailoutbox == []


def test_utf8_form_bodies_still_work(client, mailoutbox):
    body = b"email=jose%40ex%C3%A4mple.com"  # an internationalised domain, in UTF-8
    response = client.post(REMIND, data=body, content_type=FORM)
    assert response.status_code == HTTPStatus.FOUND
    assert mailoutbox[0].to == ["jose@exämple.com"]


def test_an_oversized_body_gets_413_before_it_is_read(client, settings):
    big = b"email=" + b"x" * (settings.REQUEST_BODY_MAX_BYTES + 1)
    response = client.post(REMIND, data=big, content_type=FORM)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_past_a_raised_body_limit_django_still_refuses_a_huge_form_with_400(client, settings):
    settings.REQUEST_BODY_MAX_BYTES = 10 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    big = b"email=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    assert client.post(REMIND, data=big, content_type=FORM).status_code == HTTPStatus.BAD_REQUEST


def test_too_many_fields_get_400(client, settings):
    body = "&".join(f"f{n}=x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.post(REMIND, data=body.encode(), content_type=FORM)
    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "x" * 10_000,
        "\x00",
        "a\x00b@example.com",
        "<script>alert(1)</script>",
        "ünïcödé@例え.jp",
    ],
)
def test_odd_values_in_every_public_form_get_a_clear_answer(client, value):
    """No 500 anywhere: each form answers with its page (and field errors) or a redirect."""
    forms = [
        (reverse("account_login"), {"login": value, "password": value}),
        (reverse("account_signup"), {"username": value, "email": value, "password1": value,
                                     "password2": value, "accept_policy": value}),
        (reverse("account_reset_password"), {"email": value}),
        (REMIND, {"email": value}),
        (reverse("policy:contact", args=["privacy"]), {"name": value, "email": value,
                                                        "subject": value, "message": value}),
    ]  # fmt: skip
    for url, data in forms:
        response = client.post(url, data)
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.FOUND}, (
            url,
            response.status_code,
        )
        if response.status_code == HTTPStatus.OK:  # refused: the visitor must see why
            html = response.content.decode()
            assert 'role="alert"' in html or 'class="field__errors"' in html, url


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "ascii"])
@pytest.mark.parametrize("path", ["/accounts/login/", "/privacy/contact/", "/"])
def test_a_form_in_another_charset_gets_the_400_page_not_a_500(privacy, path, charset):
    """Django refuses it from request.POST, which the CSRF check of every error page reads
    again, so without the site's own check the answer was gunicorn's bare 500."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.generic(
        "POST", path, f"login=a&password=b&csrfmiddlewaretoken={token}".encode(),
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
    )  # fmt: skip
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Bad request" in response.content.decode()


def test_a_form_that_calls_utf8_by_another_name_is_read(privacy):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.generic(
        "POST", "/accounts/login/", f"login=nobody&password=b&csrfmiddlewaretoken={token}".encode(),
        content_type="application/x-www-form-urlencoded; charset=UTF8",
    )  # fmt: skip
    assert response.status_code == HTTPStatus.OK
    assert (
        "The username and/or password you specified are not correct." in response.content.decode()
    )

"""Input limits: a body too big for any form of the site is refused with 413 before it is read,
and a contact subject with a line break still reaches the privacy team, on one line."""

from http import HTTPStatus
from io import BytesIO
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from policy.models import ContactMessage

pytestmark = pytest.mark.django_db

CONTACT = reverse("policy:contact", args=["privacy"])


class Unreadable:
    """A request body that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the oversized body was read")

    readline = read


def post_declaring(path: str, size: int, client=None):
    client = client or Client()
    return client.generic(
        "POST", path, b"", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(size), **{"wsgi.input": Unreadable()},
    )  # fmt: skip


def test_an_oversized_post_to_a_public_form_is_refused_unread_with_413(privacy, settings):
    settings.REQUEST_BODY_MAX_BYTES = 256 * 1024
    response = post_declaring(CONTACT, 10 * 1024 * 1024)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    page = response.content.decode()
    assert "That was too much to send" in page and "(256 KB)" in page
    assert response["Connection"] == "close"
    assert not ContactMessage.objects.exists()


def test_the_admin_takes_more_but_not_without_limit(admin_client, settings):
    settings.ADMIN_REQUEST_BODY_MAX_BYTES = 6 * 1024 * 1024
    url = reverse("admin:index")
    assert post_declaring(url, 7 * 1024 * 1024, admin_client).status_code == 413
    small = admin_client.get(url)
    assert small.status_code == HTTPStatus.OK


def test_a_body_within_the_limit_is_served(client, privacy, mailoutbox):
    response = client.post(
        CONTACT,
        {"name": "Vera", "email": "vera@example.org", "subject": "Hi", "message": "x" * 1000,
         "website": ""},
    )  # fmt: skip
    assert response.status_code == HTTPStatus.FOUND


def post_chunked(path: str, body: bytes, content_type: str):
    """A POST as a server hands on a chunked body: no Content-Length, the body already
    de-chunked in wsgi.input (as gunicorn does; tests/integration/test_one_machine.py sends
    real chunks through gunicorn)."""
    return Client().generic(
        "POST", path, b"", CONTENT_TYPE=content_type,
        HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": BytesIO(body)},
    )  # fmt: skip


def test_a_chunked_body_within_the_limit_reaches_the_form(privacy, settings, mailoutbox):
    settings.REQUEST_BODY_MAX_BYTES = 256 * 1024
    body = urlencode({"name": "Vera", "email": "vera@example.org", "subject": "Chunked",
                      "message": "Sent in chunks.", "website": ""})  # fmt: skip
    response = post_chunked(CONTACT, body.encode(), "application/x-www-form-urlencoded")
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:300]
    assert ContactMessage.objects.get().message == "Sent in chunks."


def test_an_over_long_chunked_body_is_refused_with_413_after_the_limit(privacy, settings):
    settings.REQUEST_BODY_MAX_BYTES = 1024
    stream = BytesIO(b"message=" + b"x" * 5000)
    response = Client().generic(
        "POST", CONTACT, b"", CONTENT_TYPE="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": stream},
    )  # fmt: skip
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "(1 KB)" in response.content.decode()
    assert stream.tell() == 1025  # read to one byte past the limit, and no further
    assert not ContactMessage.objects.exists()


def test_a_malformed_content_length_is_a_bad_request(client):
    response = client.generic("POST", CONTACT, b"", CONTENT_LENGTH="ten")
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_a_subject_with_a_line_break_still_reaches_the_team_on_one_line(
    client, privacy, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CONTACT,
            {"name": "Vera", "email": "vera@example.org", "subject": "Hello\r\nBcc: x@evil.example",
             "message": "Which cookies?", "website": ""},
        )  # fmt: skip
    assert response.status_code == HTTPStatus.FOUND
    assert ContactMessage.objects.get().subject == "Hello Bcc: x@evil.example"
    [mail] = mailoutbox
    assert "\n" not in mail.subject and "Hello Bcc: x@evil.example" in mail.subject
    assert mail.bcc == [] and "x@evil.example" not in mail.recipients()

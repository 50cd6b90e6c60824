"""Input limits: a body too big for any form of the site is refused with 413 before it is read,
and a contact subject with a line break still reaches the privacy team, on one line."""

from http import HTTPStatus

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

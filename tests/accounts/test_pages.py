"""Account pages and emails wear the site's design and name; public pages stay cheap."""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, signup_data

pytestmark = pytest.mark.django_db

PUBLIC_ACCOUNT_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_username_reminder",
    "account_username_reminder_done",
    "account_email_verification_sent",
    "account_reset_password_done",
]


@pytest.mark.parametrize("name", PUBLIC_ACCOUNT_PAGES)
def test_account_pages_wear_the_site_design(client, name):
    response = client.get(reverse(name))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'class="site-header"' in html
    assert 'class="site-footer"' in html
    assert "page--entrance" in html
    assert "New Image MedSpa</title>" in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", html)


@pytest.mark.parametrize("name", PUBLIC_ACCOUNT_PAGES)
def test_account_pages_run_no_query_once_warm(client, name, django_assert_num_queries):
    client.get(reverse(name))  # warm the kept policy state, as on a live site
    # A GET opens no transaction, and signup's blank form shows the kept policy version.
    with django_assert_num_queries(0):
        response = client.get(reverse(name))
    assert response.status_code == HTTPStatus.OK


def test_every_field_has_a_label(client):
    typed_fields = {
        "account_login": ["id_login", "id_password"],
        "account_signup": ["id_username", "id_email", "id_password1", "id_password2", "id_website"],
        "account_reset_password": ["id_email"],
    }
    for name, expected in typed_fields.items():
        html = client.get(reverse(name)).content.decode()
        inputs = [
            tag
            for tag in re.findall(r"<input\b[^>]*>", html)
            if re.search(r'\btype="(?:text|email|password)"', tag)
        ]
        field_ids = [re.search(r'\bid="([^"]+)"', tag).group(1) for tag in inputs]
        assert field_ids == expected, name  # found every field, whatever the attribute order
        for field_id in field_ids:
            assert f'<label for="{field_id}">' in html, f"{field_id} on {name}"


def test_form_errors_sit_beside_their_fields(client):
    html = client.post(
        reverse("account_signup"), {"username": "x", "email": "bad"}
    ).content.decode()
    email_field = html.split('for="id_email"')[1].split('<div class="field')[0]
    assert "Enter a valid email address." in email_field
    assert 'aria-invalid="true"' in email_field


@pytest.mark.parametrize(
    "send",
    [
        lambda client: client.post(
            reverse("account_signup"), signup_data(username="gina", email="gina@example.com")
        ),
        lambda client: client.post(
            reverse("account_reset_password"), {"email": "alice@example.com"}
        ),
        lambda client: client.post(
            reverse("account_username_reminder"), {"email": "x@example.com"}
        ),
    ],
    ids=["confirmation", "password-reset", "unknown-account"],
)
def test_emails_carry_the_site_name_and_an_html_part(client, alice, mailoutbox, send):
    send(client)
    message = mailoutbox[-1]
    assert message.subject.startswith("[New Image MedSpa] ")
    assert "Hello from New Image MedSpa!" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "New Image MedSpa" in html
    assert "<p>Hello from New Image MedSpa!</p>" in html
    assert "&lt;" not in html  # real markup, not escaped markup
    assert re.search(r'<a href="http://testserver/accounts/[^"]+"', html)
    assert message.from_email == "New Image MedSpa <privacy@pamedspa.biz>"


def test_html_email_escapes_what_users_typed(client, mailoutbox):
    from tests.factories import make_verified_user

    make_verified_user("<script>alert(1)</script>", "evil@example.com")
    client.post(reverse("account_username_reminder"), {"email": "evil@example.com"})
    html = mailoutbox[0].alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_actions_are_confirmed_with_messages(client, alice):
    response = client.post(
        reverse("account_login"), {"login": "alice", "password": PASSWORD}, follow=True
    )
    assert "Successfully signed in as alice." in response.content.decode()
    response = client.post(reverse("account_logout"), follow=True)
    assert "You have signed out." in response.content.decode()

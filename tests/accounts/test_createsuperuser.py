"""A superuser made with createsuperuser opens the admin at once, with no mail round trip."""

from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def create(monkeypatch, **options):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, verbosity=0, **options)


def test_the_superusers_address_is_verified_and_primary(monkeypatch):
    create(monkeypatch, username="boss", email="Boss@Example.com")
    address = EmailAddress.objects.get(user__username="boss")
    # Django's createsuperuser lowercases the domain, as email addresses allow.
    assert (address.email, address.verified, address.primary) == ("Boss@example.com", True, True)


def test_a_new_superuser_logs_in_and_opens_the_admin_without_any_mail(client, monkeypatch):
    create(monkeypatch, username="boss", email="boss@example.com")

    response = client.post(reverse("account_login"), {"login": "boss", "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("account_overview")  # not "verify your email"
    assert client.get(reverse("admin:index")).status_code == HTTPStatus.OK
    assert mail.outbox == []


def test_a_superuser_without_an_address_is_told_it_cannot_sign_in(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, username="nomail", email="")
    assert "nomail has no email address, so it cannot sign in" in capsys.readouterr().err
    assert not EmailAddress.objects.filter(user__username="nomail").exists()


def test_only_the_command_trusts_an_address(monkeypatch):
    create(monkeypatch, username="boss", email="boss@example.com")
    get_user_model().objects.create_superuser("other", "other@example.com", PASSWORD)
    assert not EmailAddress.objects.filter(user__username="other").exists()


def test_a_colleague_added_in_the_users_admin_signs_in_at_once(admin_client, client):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "colleague", "email": "colleague@example.com", "usable_password": "true",
         "password1": "a long enough password 1", "password2": "a long enough password 1"},
    )  # fmt: skip
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    address = EmailAddress.objects.get(email="colleague@example.com")
    assert (address.verified, address.primary) == (True, True)

    signed_in = client.post(
        reverse("account_login"),
        {"login": "colleague@example.com", "password": "a long enough password 1"},
    )
    assert signed_in.status_code == HTTPStatus.FOUND
    assert "confirm-email" not in signed_in.url
    assert client.session.get("_auth_user_id") == str(address.user_id)


def test_changing_an_address_in_the_users_admin_makes_it_the_trusted_primary(admin_client):
    user = get_user_model().objects.create_user("colleague", "old@example.com", "x" * 12)
    url = reverse("admin:auth_user_change", args=[user.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(email="new@example.com", date_joined_0="2026-01-01", date_joined_1="00:00:00")
    data.pop("password", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    admin_client.post(url, data)
    primary = EmailAddress.objects.get(user=user, primary=True)
    assert (primary.email, primary.verified) == ("new@example.com", True)

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

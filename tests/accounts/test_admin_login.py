"""Staff log in to the admin through allauth, and may be required to use two-factor auth."""

from http import HTTPStatus

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests.factories import PASSWORD, make_verified_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return make_verified_user("sam", is_staff=True, is_superuser=True)


def test_admin_login_goes_through_allauth(client):
    response = client.get(reverse("admin:login") + "?next=/admin/")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in response.url


def test_admin_index_sends_visitors_to_login(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_staff_log_in_and_reach_the_admin(client, staff, settings):
    settings.STAFF_MFA_REQUIRED = False
    client.post(reverse("account_login"), {"login": "sam", "password": PASSWORD})
    assert client.get(reverse("admin:index")).status_code == HTTPStatus.OK


def test_admin_login_is_rate_limited_like_any_login(client, staff):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": "sam", "password": "wrong password!"})
    response = client.post(reverse("account_login"), {"login": "sam", "password": PASSWORD})
    assert "Too many wrong passwords for this login" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == HTTPStatus.FOUND


def test_staff_without_mfa_are_sent_to_set_it_up(client, staff, settings):
    settings.STAFF_MFA_REQUIRED = True
    client.force_login(staff)
    response = client.get(reverse("admin:index"), follow=True)
    visited = [url for url, _ in response.redirect_chain]
    assert (
        reverse("mfa_activate_totp") in visited
    )  # after re-entering the password, as allauth asks
    assert "Staff accounts need two-factor authentication." in response.content.decode()
    assert (
        client.get(reverse("admin:policy_policyversion_changelist")).status_code == HTTPStatus.FOUND
    )


def test_staff_with_mfa_reach_the_admin_when_it_is_required(client, staff, settings):
    settings.STAFF_MFA_REQUIRED = True
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == HTTPStatus.OK


def test_non_staff_are_refused(client, alice):
    client.force_login(alice)
    assert client.get(reverse("admin:login")).status_code == HTTPStatus.FORBIDDEN


def test_staff_mfa_is_required_in_production_by_default():
    from tests.test_settings import PRODUCTION, settings_under

    assert settings_under(["STAFF_MFA_REQUIRED"], **PRODUCTION)["STAFF_MFA_REQUIRED"] is True

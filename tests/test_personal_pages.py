"""Pages made for one visitor (a form's CSRF token, a signed-in person's page) are stored by no
cache; pages for everyone keep the caching their views chose."""

import pytest
from django.urls import reverse

from tests.factories import make_verified_user

pytestmark = pytest.mark.django_db

NEVER = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}


def directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",") if part}


@pytest.mark.parametrize(
    "url_name",
    ["account_reset_password", "account_username_reminder", "privacy_request", "account_login"],
)
def test_forms_for_visitors_are_stored_by_no_cache(client, privacy, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()
    assert directives(response) == NEVER


@pytest.mark.parametrize("url", ["/", "/privacy/", "/accounts/", "/accounts/preferences/"])
def test_a_signed_in_persons_pages_are_stored_by_no_cache(client, privacy, url):
    client.force_login(make_verified_user("alice"))
    assert directives(client.get(url)) == NEVER


def test_pages_for_everyone_keep_their_own_caching(client, privacy):
    assert directives(client.get("/privacy/")) == {"no-cache"}  # revalidated with its ETag
    assert "no-store" not in directives(client.get("/"))

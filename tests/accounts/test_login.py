"""Login by username or email, remember me, POST-only logout, lockout, safe redirects, rehashing."""

from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
LOGOUT = reverse("account_logout")
LOCKED = "Too many wrong passwords for this login. For your security, wait 5 minutes"


def logged_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize("login", ["alice", "alice@example.com", "ALICE@example.com"])
def test_login_by_username_or_email(client, alice, login):
    response = client.post(LOGIN, {"login": login, "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("account_overview")
    assert logged_in_as(client) == str(alice.pk)


def test_login_page_has_labels_autocomplete_and_remember_me(client):
    html = client.get(LOGIN).content.decode()
    assert '<label for="id_login">' in html
    assert 'autocomplete="username"' in html or 'autocomplete="email"' in html
    assert 'autocomplete="current-password"' in html
    assert 'name="remember"' in html


def test_wrong_password_shows_an_error_and_keeps_the_login(client, alice):
    response = client.post(LOGIN, {"login": "alice", "password": "wrong password!"})
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "The username and/or password you specified are not correct." in html
    assert 'value="alice"' in html
    assert logged_in_as(client) is None


def test_without_remember_me_the_session_ends_with_the_browser(client, alice):
    client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert client.session.get_expire_at_browser_close()


def test_remember_me_keeps_the_session(client, alice):
    client.post(LOGIN, {"login": "alice", "password": PASSWORD, "remember": "on"})
    assert not client.session.get_expire_at_browser_close()


def test_session_key_rotates_on_login(client, alice):
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert client.session.session_key != before


def test_logout_needs_a_post(client, alice):
    client.force_login(alice)
    page = client.get(LOGOUT)
    assert page.status_code == HTTPStatus.OK
    assert logged_in_as(client) == str(alice.pk)
    response = client.post(LOGOUT)
    assert response.status_code == HTTPStatus.FOUND
    assert logged_in_as(client) is None


def test_header_logout_is_a_form_with_csrf(client, alice):
    client.force_login(alice)
    html = client.get(reverse("home")).content.decode()
    form = html.split('class="account-nav__logout"')[1].split("</form>")[0]
    assert 'method="post"' in form
    assert f'action="{LOGOUT}"' in form
    assert 'name="csrfmiddlewaretoken"' in form


def test_failed_logins_lock_the_account_for_a_while(client, alice):
    for _ in range(5):
        client.post(LOGIN, {"login": "alice", "password": "wrong password!"})
    response = client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert response.status_code == HTTPStatus.OK
    assert LOCKED in response.content.decode()
    assert logged_in_as(client) is None


def test_one_account_has_one_counter_whichever_of_its_names_is_typed(client, alice):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=alice, email="alice@work.example", verified=True)
    for login in ["alice", "ALICE@example.com", "alice", "alice@work.example", "Alice"]:
        response = client.post(LOGIN, {"login": login, "password": "wrong password!"})
        assert LOCKED not in response.content.decode()
    for login in ["alice", "alice@example.com", "alice@work.example"]:
        response = client.post(LOGIN, {"login": login, "password": PASSWORD})
        assert LOCKED in response.content.decode(), login
        assert logged_in_as(client) is None


def test_an_unknown_login_locks_exactly_as_a_known_one(client, alice):
    for login, address in (("alice", "198.51.100.1"), ("nobody", "198.51.100.2")):
        answers = [
            LOCKED
            in client.post(
                LOGIN, {"login": login, "password": "wrong!"}, REMOTE_ADDR=address
            ).content.decode()
            for _ in range(6)
        ]  # each from its own address: the per-IP limit (10 a minute) stays out of it
        assert answers == [False] * 5 + [True], login


def test_another_account_is_not_locked_by_the_first(client, alice):
    from tests.factories import make_verified_user

    make_verified_user("bob")
    for _ in range(5):
        client.post(LOGIN, {"login": "alice", "password": "wrong password!"})
    client.post(LOGIN, {"login": "bob", "password": PASSWORD})
    assert logged_in_as(client) is not None


@pytest.mark.parametrize("host", ["testserver:1", "TESTSERVER", "testserver:8443"])
def test_changing_the_host_header_does_not_reset_the_lockout(client, alice, host):
    for _ in range(5):
        client.post(LOGIN, {"login": "alice", "password": "wrong password!"})
    response = client.post(LOGIN, {"login": "alice", "password": PASSWORD}, headers={"host": host})
    assert LOCKED in response.content.decode()
    assert logged_in_as(client) is None


def test_login_is_rate_limited_per_ip(client, settings, alice):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    for _ in range(3):
        client.post(LOGIN, {"login": "nobody", "password": "x"})
    response = client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert logged_in_as(client) is None


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "https:evil.example", "/\\evil.example"]
)
def test_login_refuses_to_redirect_off_site(client, alice, target):
    response = client.post(f"{LOGIN}?next={target}", {"login": "alice", "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert "evil.example" not in response.url
    assert response.url.startswith("/")


def test_login_follows_a_local_next(client, alice):
    response = client.post(f"{LOGIN}?next=/privacy/", {"login": "alice", "password": PASSWORD})
    assert response.url == "/privacy/"


@pytest.mark.real_hashers
def test_old_password_hashes_are_upgraded_to_argon2_on_login(client, alice):
    alice.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    alice.save(update_fields=["password"])
    client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    alice.refresh_from_db()
    assert alice.password.startswith("argon2")
    assert logged_in_as(client) == str(alice.pk)


@pytest.mark.real_hashers
def test_new_passwords_are_hashed_with_argon2(alice):
    assert alice.password.startswith("argon2")

"""No timing leaks: each pair of requests below does the same expensive work, whatever the address.

Wall-clock time is too noisy for a test, but nearly all of it is password hashing, so the test
counts calls to the configured hashers (each `encode` and `verify`), as docs and FACTS advise.
`make bench` measures the wall-clock ratios of the same pairs.
"""

from collections import Counter

import pytest
from django.contrib.auth.hashers import get_hashers
from django.urls import reverse

from tests.factories import make_verified_user, signup_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def hashes(monkeypatch):
    """How many passwords were hashed: outermost `encode` and `verify` calls on the configured
    hashers (some hashers' `verify` calls their own `encode`: that is one hash, not two)."""
    calls = Counter()
    depth = [0]
    for hasher in get_hashers():
        for name in ("encode", "verify"):
            original = getattr(hasher, name)

            def counted(*args, _original=original, **kwargs):
                if depth[0] == 0:
                    calls["hashes"] += 1
                depth[0] += 1
                try:
                    return _original(*args, **kwargs)
                finally:
                    depth[0] -= 1

            monkeypatch.setattr(hasher, name, counted)
    return calls


@pytest.fixture
def alice(db):
    return make_verified_user("alice", "alice@example.com")


def cost(hashes, send) -> dict:
    hashes.clear()
    send()
    return dict(hashes)


def test_signup_with_a_taken_email_hashes_as_much_as_with_a_new_one(client, hashes, alice, privacy):
    taken = cost(hashes, lambda: client.post(
        reverse("account_signup"), signup_data(username="mallory", email="alice@example.com")
    ))  # fmt: skip
    fresh = cost(hashes, lambda: client.post(
        reverse("account_signup"), signup_data(username="newbie", email="newbie@example.com")
    ))  # fmt: skip
    assert fresh == taken
    assert sum(fresh.values()) >= 1


@pytest.mark.parametrize(
    ("known", "unknown"),
    [("alice@example.com", "nobody@example.com"), ("alice", "nobody")],
    ids=["email", "username"],
)
def test_a_wrong_password_costs_the_same_for_a_known_and_an_unknown_login(
    client, hashes, alice, known, unknown
):
    def attempt(login):
        return lambda: client.post(
            reverse("account_login"), {"login": login, "password": "wrong password 1"}
        )

    known_cost = cost(hashes, attempt(known))
    unknown_cost = cost(hashes, attempt(unknown))
    assert known_cost == unknown_cost
    assert sum(known_cost.values()) >= 1

"""Fixtures for the policy tests."""

import pytest
from allauth.account.models import EmailAddress

from tests.factories import make_verified_user


@pytest.fixture
def people(db):
    """Alice, Bob and Carol, whom a notice to everyone reaches; and two people it must not.

    Carol has a second verified address, which must not make her count, or be written to,
    twice. "dormant" is inactive and "newbie" has not verified an address: neither is told.
    """
    told = [make_verified_user(name) for name in ["alice", "bob", "carol"]]
    EmailAddress.objects.create(user=told[2], email="carol@work.example", verified=True)
    make_verified_user("dormant", is_active=False)
    unverified = make_verified_user("newbie")
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    return told

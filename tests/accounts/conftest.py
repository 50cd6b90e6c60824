"""Fixtures for the account flows."""

import pytest

from tests.factories import make_verified_user


@pytest.fixture
def alice(db):
    return make_verified_user("alice")

"""Fixtures for the account flows."""

import pytest

from tests.factories import make_verified_user


@pytest.fixture
def alice(db):
    return make_verified_user("alice")


@pytest.fixture
def news(db):
    """An active topic that shares nothing with partners."""
    from accounts.models import Topic

    return Topic.objects.create(
        name="Monthly news",
        slug="news",
        description="One email a month about the spa.",
        shares_with_partners=False,
        is_active=True,
        position=1,
    )


@pytest.fixture
def partners(db):
    """An active topic whose opt-in shares data with partners."""
    from accounts.models import Topic

    return Topic.objects.create(
        name="Partner offers",
        slug="partner-offers",
        description="Offers from partner clinics near you.",
        shares_with_partners=True,
        is_active=True,
        position=2,
    )

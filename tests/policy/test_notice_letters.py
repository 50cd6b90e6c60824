"""Each notice's email is rendered once for everyone and filled in for each person (a mail
merge). Every copy must be exactly what rendering the templates for that person gives."""

import dataclasses
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from policy.delivery.lists import Extras
from policy.delivery.messages import notice_context, notice_message
from policy.models import Incident, Mailing, Notice
from policy.services.versions import version_publish
from tests.factories import make_material_draft, make_verified_user

pytestmark = pytest.mark.django_db

# Names that escaping changes, and one that looks like markup in either body.
NAMES = ["alice", "o'brien", 'a<b>&"c', "{{ user }}"]


def by_hand(shared: dict, user, extras: Extras) -> tuple[str, str, str]:
    """The subject, text and HTML rendered for this one person, as before the merge."""
    context = {**shared, "user": user, "extras": extras}
    context.pop("letters", None)
    if "version" in shared:
        context["scheduled"] = shared["version"].is_scheduled()
    template = shared["template"]
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    return (
        subject,
        render_to_string(f"{template}_message.txt", context),
        render_to_string(f"{template}_message.html", context),
    )


def assert_each_copy_is_rendered_for_its_person(shared: dict, about, users, extras_of) -> None:
    kind = shared["template"].rpartition("/")[2]
    kind = {"notice": "version"}.get(kind, kind)
    for user in users:
        notice = Notice.objects.create(user=user, **{kind: about})
        message = notice_message(notice, shared, address=user.email)
        subject, text, html = by_hand(shared, user, extras_of(user))
        assert message.subject.endswith(subject)
        assert message.body == text
        assert message.alternatives[0][0] == html
        assert user.username in message.body
    assert len(shared["letters"]) == 1  # rendered once for all of them


@pytest.fixture
def people(db):
    return [make_verified_user(f"p{n}", email=f"p{n}@example.com") for n in range(len(NAMES))]


@pytest.fixture
def named(people):
    for user, name in zip(people, NAMES, strict=True):
        user.username = name  # unsaved: usernames like these fail the form, not the mail
    return people


@pytest.mark.parametrize("later", [0, 41], ids=["scheduled", "in effect"])
def test_a_policy_notice(privacy, named, later, monkeypatch):
    draft = make_material_draft(privacy, days=40, new_uses={"Partner <offers>": "Offers & more."})
    version = version_publish(version=draft, by=None)
    moment = timezone.now() + timedelta(days=later)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    shared = notice_context("version", version.pk)
    assert_each_copy_is_rendered_for_its_person(shared, version, named, lambda user: Extras())
    assert ("takes effect" in shared["letters"].popitem()[1][1]) is (later == 0)


def test_a_breach_notice(named):
    incident = Incident.objects.create(subject="A laptop & <a> disk", body="Change it.\n\nNow.")
    shared = notice_context("incident", incident.pk)
    assert_each_copy_is_rendered_for_its_person(shared, incident, named, lambda user: Extras())


def test_topic_mail_with_each_persons_reason_and_link(named):
    from accounts.models import Topic

    Topic.objects.create(name="News & <b>offers</b>", slug="news", description="Monthly.")
    mailing = Mailing.objects.create(
        list_key="topic:news", list_name="News", subject="April", body="Hi", body_html="<p>Hi</p>"
    )

    def extras(user) -> Extras:
        return Extras(
            reason=f"You chose news, {user.username} & co.",
            stop_url=f"https://www.pamedspa.biz/stop/{user.pk}/?a=1&b=<2>",
            stop_text=f"Stop, {user.username}",
            headers={"List-Unsubscribe": f"<https://www.pamedspa.biz/stop/{user.pk}/>"},
        )

    shared = notice_context("mailing", mailing.pk)
    shared["list"] = dataclasses.replace(shared["list"], extras=extras)
    assert_each_copy_is_rendered_for_its_person(shared, mailing, named, extras)

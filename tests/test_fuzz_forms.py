"""Property-based: whatever a visitor types into a public form, the answer is clear and safe.

For every public form and any mix of values (empty, over-long, any Unicode including NUL,
markup, plausible emails), the form either succeeds (302) or comes back (200) with an error
the visitor can see, showing what they typed, escaped. Nothing answers 500, and no markup
they typed reaches the page unescaped.
"""

from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

MARKUP = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</textarea><b>x</b>"]

hostile = st.one_of(
    st.just(""),
    st.text(max_size=40),  # any code point but lone surrogates, which UTF-8 cannot carry
    st.builds(lambda c, n: c * n, st.characters(), st.integers(250, 12_000)),  # over-long
    st.sampled_from(MARKUP),
    st.builds(lambda a, b: a + b, st.sampled_from(MARKUP), st.text(max_size=10)),
    st.emails(),
    st.just("a\x00b@example.com"),
)

# (URL name, fields typed by the visitor, fields the page shows back when it returns)
FORMS = {
    "login": ("account_login", ["login", "password"], ["login"]),
    "signup": ("account_signup", ["username", "email", "password1", "password2"],
               ["username", "email"]),
    "password reset": ("account_reset_password", ["email"], ["email"]),
    "username reminder": ("account_username_reminder", ["email"], ["email"]),
    "contact": ("policy:contact", ["name", "email", "subject", "message"],
                ["name", "email", "subject", "message"]),
}  # fmt: skip


def _url(name: str) -> str:
    return reverse(name, args=["privacy"]) if name.startswith("policy:") else reverse(name)


@pytest.mark.parametrize("form", FORMS)
def test_any_input_to_a_public_form_gets_a_clear_and_safe_answer(form):
    url_name, typed, echoed = FORMS[form]
    url = _url(url_name)

    @settings(
        max_examples=40,
        deadline=None,
        database=None,  # no .hypothesis folder in the work tree
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(values=st.fixed_dictionaries({name: hostile for name in typed}))
    def check(values: dict[str, str]) -> None:
        cache.clear()  # each example is a new visitor: no rate limit carries over
        response = Client(raise_request_exception=False).post(url, values)
        html = response.content.decode()
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.FOUND}, response.status_code
        for payload in MARKUP:
            assert payload not in html
        if response.status_code == HTTPStatus.OK:
            assert 'role="alert"' in html or 'class="field__errors"' in html, "no visible error"
            for name in echoed:
                assert escape(values[name]) in html, f"{name} was not shown back"

    check()

"""The form renderer that writes <input> widgets in Python writes what Django's templates write.

`pamedspa.forms.FormRenderer` replaces Django's input.html and attrs.html with Python for speed.
These tests render the same widgets, and then every page of the site that has a form (public,
signed in, with errors, and the admin's add and change pages), once with it and once with
Django's own renderer, and require the same bytes.
"""

import datetime

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.forms import widgets
from django.forms.renderers import DjangoTemplates
from django.test import Client
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from pamedspa.forms import INPUT_TEMPLATES, FormRenderer
from tests.factories import make_user
from tests.test_html_valid import pages, site  # noqa: F401 (site is a fixture)

VALUES = [
    None, "", "plain", 'quote " and <tag> & \'apostrophe\'', mark_safe("<b>safe</b>"), 0, 15,
    1.5, gettext_lazy("Username"), ("a", 1), datetime.date(2026, 12, 1),
    datetime.datetime(2026, 12, 1, 9, 30), datetime.time(9, 30),
]  # fmt: skip
ATTRS = {
    "required": True,
    "disabled": False,
    "maxlength": 150,
    "placeholder": gettext_lazy("Email"),
    "data-none": None,
    "aria-describedby": "id_x_helptext",
    "title": 'say "hi" & <go>',
    "data-safe": mark_safe("<i>"),
}
WIDGETS = [
    widgets.Input(), forms.TextInput(), forms.EmailInput(), forms.PasswordInput(render_value=True),
    forms.HiddenInput(), forms.NumberInput(), forms.URLInput(), forms.SearchInput(),
    forms.TelInput(), forms.CheckboxInput(), forms.ColorInput(), forms.DateInput(),
    forms.DateTimeInput(), forms.TimeInput(), forms.FileInput(),
]  # fmt: skip


def test_every_input_template_is_one_of_djangos_widgets():
    """A template name the fast path takes over is one these tests render."""
    assert {widget.template_name for widget in WIDGETS} == INPUT_TEMPLATES


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
def test_each_input_widget_renders_as_djangos_template_does(widget):
    ours, djangos = FormRenderer(), DjangoTemplates()
    for value in [*VALUES, True, False]:
        for attrs in (None, ATTRS):
            expected = widget.render("field", value, attrs, renderer=djangos)
            assert widget.render("field", value, attrs, renderer=ours) == expected, (value, attrs)


def test_other_widgets_still_use_the_templates():
    widget = forms.Select(choices=[("a", "A <one>"), ("b", "B")])
    expected = widget.render("kind", "b", ATTRS, renderer=DjangoTemplates())
    assert widget.render("kind", "b", ATTRS, renderer=FormRenderer()) == expected
    assert "<select" in expected


class ComparingRenderer(FormRenderer):
    """Renders each <input> both ways, keeps ours, and records each widget it compared."""

    compared: list[tuple[str, str, str]] = []  # (template, ours, Django's)

    def render(self, template_name, context, request=None):
        ours = super().render(template_name, context, request)
        if template_name in INPUT_TEMPLATES:
            djangos = DjangoTemplates.render(self, template_name, context, request)
            self.compared.append((template_name, ours, djangos))
        return ours


def _staff_pages(staff) -> dict[str, str]:
    client = Client()
    client.force_login(staff)
    alice = get_user_model().objects.get(username="alice")
    paths = [
        "/admin/auth/user/add/", f"/admin/auth/user/{alice.pk}/change/",
        "/admin/policy/policyversion/add/", "/admin/policy/incident/add/",
        "/admin/accounts/topic/add/",
    ]  # fmt: skip
    return {f"staff{path}": client.get(path).content.decode() for path in paths}


def test_every_input_on_every_page_is_what_djangos_templates_write(site, settings):  # noqa: F811
    """Every page of the site with a form: public, signed in, with errors, and the admin's."""
    settings.FORM_RENDERER = f"{__name__}.ComparingRenderer"
    ComparingRenderer.compared.clear()
    found = {**pages(site), **_staff_pages(make_user("office", staff=True, is_superuser=True))}
    compared = ComparingRenderer.compared
    pages_with_inputs = [name for name, html in found.items() if "<input" in html]
    assert len(pages_with_inputs) >= 30, pages_with_inputs  # it saw the site's forms
    kinds = {t.rpartition("/")[2] for t, _, _ in compared}
    assert len(compared) >= 80 and kinds >= {
        "text.html",
        "email.html",
        "password.html",
        "checkbox.html",
        "hidden.html",
    }, kinds
    different = [(t, ours, djangos) for t, ours, djangos in compared if ours != djangos]
    assert not different, different[:5]

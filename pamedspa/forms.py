"""Form widgets: a plain <input> is written out in Python instead of through three templates.

Django renders every widget with its template engine. An <input> takes three templates (text.html
includes input.html, which includes attrs.html): about 0.15 ms a field, a sixth of the login
page's time. `FormRenderer` writes those widgets' markup itself, exactly as the templates do
(tests/test_form_renderer.py renders every field of the site's forms both ways and requires the
same bytes), and leaves every other widget (select, textarea, radio lists, the admin's own) to
Django's templates.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.html import format_html, format_html_join

# Django's widget templates that are `{% include "django/forms/widgets/input.html" %}` and no more.
INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "input", "text", "email", "password", "hidden", "number", "url", "search", "tel",
        "checkbox", "color", "date", "datetime", "time", "file",
    )
)  # fmt: skip


class FormRenderer(DjangoTemplates):
    """Django's default renderer, with its input.html and attrs.html written in Python."""

    def render(self, template_name, context, request=None):
        if template_name not in INPUT_TEMPLATES:
            return super().render(template_name, context, request)
        widget = context["widget"]
        # As input.html: type and name, the value unless None, then attrs.html's attributes.
        # format_html escapes each as the template does (`|stringformat:'s'` is str(), which
        # leaves a safe string safe, and so does conditional_escape).
        value = widget["value"]
        attributes = (
            (format_html(" {}", name) if given is True else format_html(' {}="{}"', name, given),)
            for name, given in widget["attrs"].items()
            if given is not False
        )
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            format_html(' value="{}"', value) if value is not None else "",
            format_html_join("", "{}", attributes),
        )

"""Static addresses are looked up in the manifest once, and a new collectstatic is seen."""

from unittest import mock

from django.core.management import call_command
from whitenoise.storage import CompressedManifestStaticFilesStorage

from pamedspa.storage import StaticFilesStorage


def _collect(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "pamedspa.storage.StaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.staticfiles.storage import staticfiles_storage

    return staticfiles_storage


def test_the_hashed_address_is_whitenoises_and_looked_up_once(settings, tmp_path):
    storage = _collect(settings, tmp_path)
    assert isinstance(storage, StaticFilesStorage)
    expected = CompressedManifestStaticFilesStorage(location=settings.STATIC_ROOT).url(
        "css/site.css"
    )
    assert expected.startswith("/static/css/site.") and expected != "/static/css/site.css"
    answer = mock.Mock(return_value=expected)
    with mock.patch.object(CompressedManifestStaticFilesStorage, "url", answer) as looked_up:
        assert storage.url("css/site.css") == expected
        assert storage.url("css/site.css") == expected
    assert looked_up.call_count == 1


def test_a_new_collectstatic_replaces_what_was_kept(settings, tmp_path):
    storage = _collect(settings, tmp_path)
    before = storage.url("css/site.css")
    # A changed file gets a new hash; the process that collects sees the new address.
    changed = tmp_path / "extra"
    (changed / "css").mkdir(parents=True)
    (changed / "css" / "site.css").write_text("body { color: red }")
    settings.STATICFILES_DIRS = [changed, *settings.STATICFILES_DIRS]
    call_command("collectstatic", interactive=False, verbosity=0)
    after = storage.url("css/site.css")
    assert after != before and after.startswith("/static/css/site.")

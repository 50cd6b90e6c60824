"""The accounts app: registration, login and password or username recovery on django-allauth."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    # allauth's app is "Accounts" in the admin (email addresses): ours is what people chose.
    verbose_name = "Privacy center"

    def ready(self) -> None:
        # Imports inside a function, because models must be ready: offer the topics to the
        # policy app's topic mail, and the privacy requests to its dashboard.
        from policy.dashboard import section_register

        from .dashboard import requests_section
        from .lists import register_topics

        register_topics()
        section_register(requests_section)


class SecureAdminConfig(admin_apps.AdminConfig):
    """Django admin, served by SecureAdminSite."""

    default = False
    default_site = "accounts.sites.SecureAdminSite"

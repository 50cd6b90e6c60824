"""The accounts app: registration, login and password or username recovery on django-allauth."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

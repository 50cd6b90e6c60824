"""The policy app: versioned policy documents served from the database."""

from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = "Policies"

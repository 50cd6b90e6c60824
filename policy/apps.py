"""The policy app: versioned policy documents served from the database, the consent ledger,
emailed notices and breach incidents, and the privacy team's inbox."""

from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = "Policies"

    def ready(self) -> None:
        # Connects the signal receivers that keep cached policy pages in step with the database.
        from . import caching  # noqa: F401  (an import inside a function: models must be ready)

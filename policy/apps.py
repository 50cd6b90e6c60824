"""The policy app: versioned policy documents served from the database, the consent ledger,
emailed notices and breach incidents, and the privacy team's inbox."""

from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = "Policies"

    def ready(self) -> None:
        # Imports inside a function, because models must be ready: the signal receivers that
        # keep cached policy pages in step with the database, and the deployment checks.
        from . import caching, checks  # noqa: F401

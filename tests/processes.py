"""Run the project in a child process with a clean, explicit environment (settings load once)."""

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PROJECT_VARIABLES = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL")


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment without the project's variables (and no .env), plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROJECT_VARIABLES)}
    env |= {"DJANGO_SETTINGS_MODULE": "pamedspa.settings", "DJANGO_ENV_FILE": ""}
    return env | overrides


def production_env(**overrides: str) -> dict[str, str]:
    """child_env for the site as production runs it on 127.0.0.1: debug off, a fresh secret key,
    plain HTTP (TLS lives at the proxy), no staff two-factor set-up; plus overrides."""
    return child_env(
        DJANGO_DEBUG="off",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="off",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_STAFF_MFA_REQUIRED="off",
        **overrides,
    )


def run_child(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run `python ARGS` in the project folder; `env` is added to a clean environment."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a child process to bind."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

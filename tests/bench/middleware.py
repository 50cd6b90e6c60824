"""Benchmark (not a test): what each middleware costs a request, in this process, without HTTP.

The bare view of tests/bench/wsgi.py is called through Django's WSGI handler with the site's
whole MIDDLEWARE, then with each middleware left out in turn; a row is the difference, the
median of a few pairs timed back to back. Each figure is the best of several timed runs, as
noise only ever adds, with the loaded objects frozen as gunicorn's workers have them. Stock
middleware that a plain Django project also runs is marked, so the rows show what the site's
own choices cost. Rows move by about ±0.01 ms between runs.

    python -m tests.bench.middleware [--requests 2000] [--runs 3]
"""

import argparse
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

# Left out only together with what needs it: authentication reads the session.
NEEDS = {
    "django.contrib.sessions.middleware.SessionMiddleware": {
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",
        "accounts.middleware.UserSessionsMiddleware",
        "accounts.middleware.GlobalPrivacyControlMiddleware",
        "accounts.middleware.EmailDeliveryFailedMiddleware",
    },
}


PAIRS = 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per timed run.")
    parser.add_argument("--runs", type=int, default=3, help="Timed runs; the best counts.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pamedspa-bench-mw-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="pamedspa.settings", DJANGO_ENV_FILE="", DJANGO_DEBUG="off",
        DJANGO_HTTPS="off", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        DJANGO_CACHE_DIR=str(workdir / "cache"),
    )  # fmt: skip
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("BENCH_STOCK_DATABASE", str(workdir / "stock.sqlite3"))
    from django.core.management import call_command

    from tests.bench import wsgi  # noqa: F401  (adds the bare view)
    from tests.bench.stock_settings import MIDDLEWARE as STOCK  # the peer's own list

    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    def cost(middleware: list[str]) -> float:
        """Milliseconds per bare-view request through `middleware` (best run)."""
        with override_settings(MIDDLEWARE=middleware):
            handler = WSGIHandler()

            def request():
                environ = {
                    "REQUEST_METHOD": "GET", "PATH_INFO": "/__bench__/bare/",
                    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
                    "wsgi.input": BytesIO(), "wsgi.url_scheme": "http", "SCRIPT_NAME": "",
                    "QUERY_STRING": "", "wsgi.errors": sys.stderr,
                }  # fmt: skip
                body = handler(environ, lambda status, headers, exc_info=None: None)
                b"".join(body)
                body.close()

            for _ in range(300):
                request()
            best = float("inf")
            for _ in range(args.runs):
                started = time.perf_counter()
                for _ in range(args.requests):
                    request()
                best = min(best, (time.perf_counter() - started) / args.requests)
            return best * 1000

    # As gunicorn's workers do (pamedspa/gunicorn.conf.py): what is loaded by now is frozen, so
    # a full collection over Django's objects does not land in one run and not another.
    gc.collect()
    gc.freeze()
    ours = list(settings.MIDDLEWARE)
    whole, none = cost(ours), cost([])
    stock = cost([m for m in ours if m in STOCK])
    print(f"\nMiddleware cost per request (bare view, in-process, best of {args.runs} x "
          f"{args.requests:,} requests; a row: median of {PAIRS} paired runs)\n")  # fmt: skip
    print(f"{'middleware':58} {'ms':>7}")
    for name in ours:
        left_out = {name} | NEEDS.get(name, set())
        without = [m for m in ours if m not in left_out]
        # The whole stack is timed again beside each row, so that a slow moment skews one pair.
        row = statistics.median(cost(ours) - cost(without) for _ in range(PAIRS))
        extra = f" (with the {len(left_out) - 1} that need it)" if len(left_out) > 1 else ""
        mark = "" if name in STOCK else " *"
        print(f"{name + mark + extra:58} {row:7.4f}", flush=True)
    print(f"\nno middleware: {none:.4f} ms; the site's {len(ours)}: {whole:.4f} ms; only the "
          f"stock project's {len(STOCK)} of them: {stock:.4f} ms")  # fmt: skip
    print("* not in a stock Django + allauth project: the site's own choices")
    return 0


if __name__ == "__main__":
    sys.exit(main())

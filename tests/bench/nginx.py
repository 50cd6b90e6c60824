"""Benchmark (not a test): /privacy/ through nginx (deploy/nginx/pamedspa.conf) over TLS, from its
micro-cache and with a session cookie (which bypasses it), against the bare Django view on the
same gunicorn, measured in the same run with wrk.

    python -m tests.bench.nginx [--seconds 10] [--rounds 3] [--connections 16] [--workers 2]
"""

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from tests.bench.http import BROWSER_ENCODINGS, _get, _load, production_server
from tests.nginx import NGINX, Nginx
from tests.processes import free_port

# A signed-in session with a key the benchmark knows (`production_server` runs this first).
SESSION_SETUP = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-1")
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store._session_key = "%s"  # set last: loading an unknown key forgets it
store.save(must_create=True)
"""

BARE = "bare Django view (gunicorn, ceiling)"
CACHED = "/privacy/ via nginx micro-cache"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="Load time per endpoint.")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers.")
    parser.add_argument("--rounds", type=int, default=3, help="Pairs of bare and cached runs.")
    args = parser.parse_args()
    if NGINX is None or not shutil.which("wrk"):
        raise SystemExit("the nginx benchmark needs nginx (Debian's package) and wrk")

    key = secrets.token_hex(16)
    extra = {"DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "ALLAUTH_TRUSTED_PROXY_COUNT": "1"}
    with production_server(workers=args.workers, env_extra=extra, setup=SESSION_SETUP % key) as (
        base,
        _,
    ):
        upstream = base.removeprefix("http://")
        folder = Path(tempfile.mkdtemp(prefix="pamedspa-bench-nginx-"))
        nginx = Nginx(
            folder, upstreams=(upstream, upstream), http_port=free_port(), https_port=free_port()
        )
        nginx.start()
        try:
            proxied = f"https://127.0.0.1:{nginx.https_port}"
            endpoints = [
                (BARE, base + "/__bench__/bare/", []),
                ("/privacy/ (gunicorn, no nginx)", base + "/privacy/", []),
                (CACHED, proxied + "/privacy/", []),
                (CACHED + " (br)", proxied + "/privacy/", [BROWSER_ENCODINGS]),
                ("/privacy/ via nginx, session cookie", proxied + "/privacy/",
                 [f"Cookie: sessionid={key}"]),
            ]  # fmt: skip
            assert "Signed in as" in _get(base + "/privacy/", [f"Cookie: sessionid={key}"]).read(
            ).decode(), "the benchmark's session is not signed in"  # fmt: skip
            for _, url, headers in endpoints:
                if url.startswith("http:"):
                    _get(url, headers).read()  # warm the app's caches
            runs = {name: [] for name, _, _ in endpoints}
            paired = [e for e in endpoints if e[0] in {BARE, CACHED}]
            for _ in range(args.rounds):
                for name, url, headers in paired:
                    runs[name].append(_load(url, headers, args.seconds, args.connections))
            for name, url, headers in endpoints:
                if not runs[name]:
                    runs[name].append(_load(url, headers, args.seconds, args.connections))
            log = nginx.access_log.read_text()
        finally:
            nginx.stop()
            shutil.rmtree(folder, ignore_errors=True)

    setup = f"gunicorn {args.workers} sync workers, nginx over TLS, {args.connections} connections"
    print(f"\nnginx benchmark: {setup}, {args.seconds} s per run, wrk, loopback\n")
    print(f"{'endpoint':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, results in runs.items():
        rps, p50, p99, _ = statistics.median_low(results)
        errors = sum(result[3] for result in results)
        print(f"{name:40} {rps:9,.0f} {p50:8.2f} {p99:8.2f} {errors:7}")
    ratios = [c[0] / b[0] for b, c in zip(runs[BARE], runs[CACHED], strict=True)]
    each = ", ".join(f"{r:.1f}" for r in ratios)
    print(
        f"\nratio micro-cache ÷ bare view: {statistics.median(ratios):.1f}× (goal ≥ 5×; median "
        f"of {len(ratios)} back-to-back pairs: {each})"
    )
    statuses = {s: log.count(f"cache={s} ") for s in ("HIT", "MISS", "REVALIDATED", "BYPASS")}
    print("nginx cache: " + ", ".join(f"{k} {v:,}" for k, v in statuses.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (not a test): production-like gunicorn on 127.0.0.1, driven by wrk.

Prints req/s, p50 and p99 per endpoint, and ratios measured in the same run in back-to-back
pairs: our bare view ÷ a stock Django project's (tests/bench/stock_settings.py), our login page
÷ allauth's own, /privacy/ ÷ our bare view on the default cache and (with BENCH_REDIS_URL or
REDIS_URL) on Redis. Exits non-zero only if the run itself fails.

    python -m tests.bench.http [--seconds 10] [--rounds 5] [--connections 16] [--workers 2]
                               [--soak 60]
"""

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

from tests.processes import ROOT, free_port

PYTHON = sys.executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="Load time per endpoint.")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers.")
    parser.add_argument("--rounds", type=int, default=5, help="Back-to-back pairs per ratio.")
    parser.add_argument("--soak", type=int, default=0, help="Then soak for this many seconds.")
    args = parser.parse_args()
    load = partial(_load, seconds=args.seconds, connections=args.connections)
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")

    with (
        production_server(workers=args.workers) as (base, master),
        stock_server(workers=args.workers) as stock,
        production_server(workers=args.workers, redis_url=redis_url)
        if redis_url
        else nullcontext((None, None)) as (with_redis, _),
    ):
        page = _get(base + "/privacy/")
        css = (
            re.search(rb'href="(/static/css/site\.[0-9a-f]+\.css)"', page.read()).group(1).decode()
        )
        etag = page.headers["ETag"]
        endpoints = {
            "bare Django view (ceiling)": (base + "/__bench__/bare/", []),
            "stock project's bare view": (stock + "/__bench__/bare/", []),
            "bare view, 24 KB body": (base + "/__bench__/bare-24k/", []),
            "/privacy/": (base + "/privacy/", []),
            "/privacy/, as browsers ask (br)": (base + "/privacy/", [BROWSER_ENCODINGS]),
            "/privacy/versions/1/": (base + "/privacy/versions/1/", []),
            "/privacy/ 304 (If-None-Match)": (base + "/privacy/", [f"If-None-Match: {etag}"]),
            "/accounts/login/ (GET)": (base + "/accounts/login/", []),
            "allauth's own login page (GET)": (stock + "/accounts/login/", []),
            "static CSS (whitenoise)": (base + css, []),
        }
        if with_redis:
            endpoints["bare view, Redis cache"] = (with_redis + "/__bench__/bare/", [])
            endpoints["/privacy/, Redis cache"] = (with_redis + "/privacy/", [])
        for url, headers in endpoints.values():
            _get(url, headers)  # warm caches
        # Each ratio's two endpoints run in back-to-back pairs, several times over, so that a
        # noisy neighbour on a shared machine skews one pair rather than the whole answer.
        # (label, top, bottom, ratio goal, p99 goal in ms for the top endpoint or None)
        ratios = [
            ("our bare view ÷ the stock project's", "bare Django view (ceiling)",
             "stock project's bare view", 0.9, None),
            ("our login page ÷ allauth's own", "/accounts/login/ (GET)",
             "allauth's own login page (GET)", 1.0, LOGIN_P99_GOAL_MS),
            ("/privacy/ ÷ our bare view (default cache: a shared folder)", "/privacy/",
             "bare Django view (ceiling)", 0.9, None),
        ]  # fmt: skip
        if with_redis:
            ratios.append(("/privacy/ ÷ bare view (Redis cache)", "/privacy/, Redis cache",
                           "bare view, Redis cache", 0.9, None))  # fmt: skip
        runs = {name: [] for name in endpoints}
        pairs = {}
        for label, top, bottom, _, _ in ratios:
            pairs[label] = []
            for _ in range(args.rounds):
                first, second = load(*endpoints[top]), load(*endpoints[bottom])
                runs[top].append(first)
                runs[bottom].append(second)
                pairs[label].append(first[0] / second[0])
        for name, (url, headers) in endpoints.items():
            if not runs[name]:
                runs[name].append(load(url, headers))
        sizes = _sizes(base, css)
        soak = _soak(master, base, css, args.soak, 32) if args.soak else None

    tool = "wrk" if shutil.which("wrk") else "python client"
    setup = f"gunicorn {args.workers} sync workers, {args.connections} connections"
    print(f"\nHTTP benchmark: {setup}, {args.seconds} s per run, {tool}, loopback")
    print("(each row: the endpoint's median run by req/s; the verdicts below use all its runs)\n")
    print(f"{'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, results in runs.items():
        rps, p50, p99, _ = statistics.median_low(results)  # the median run, by req/s
        errors = sum(result[3] for result in results)
        print(f"{name:34} {rps:9,.0f} {p50:8.2f} {p99:8.2f} {errors:7}")
    print()
    for label, top, _, goal, p99_goal in ratios:
        each = pairs[label]
        median = statistics.median(each)
        print(
            f"ratio {label}: {median:.2f} (goal ≥ {goal:.2f}: "
            f"{'MET' if median >= goal else 'NOT MET'}; median of {len(each)} back-to-back "
            f"pairs, spread {min(each):.2f}–{max(each):.2f})"
        )
        if p99_goal is not None:
            p99s = [result[2] for result in runs[top]]
            p99 = statistics.median(p99s)
            print(
                f"  and {top}'s p99: {p99:.1f} ms (goal < {p99_goal} ms: "
                f"{'MET' if p99 < p99_goal else 'NOT MET'}; median of its {len(p99s)} runs, "
                f"spread {min(p99s):.1f}–{max(p99s):.1f} ms)"
            )
    if not with_redis:
        print("(no Redis: set BENCH_REDIS_URL to measure /privacy/ with the Redis cache too)")
    print("sizes: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    if soak:
        _print_soak(soak)
    else:
        print("\nsoak: skipped (--soak 0): its goals (0 errors, under 10% growth) were not checked")
    return 0


BROWSER_ENCODINGS = "Accept-Encoding: gzip, deflate, br, zstd"
# The login page's latency goal at the benchmark's 16 connections (#14).
LOGIN_P99_GOAL_MS = 50

MIX = """
paths = {"/privacy/", "/privacy/versions/", "/privacy/versions/1/compare/2/",
         "/accounts/login/", "%s"}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


SOAK_WARMUP_SECONDS = 10
SOAK_GROWTH_LIMIT = 0.10


def _soak(master: int, base: str, css: str, seconds: int, connections: int) -> dict:
    """Mixed pages for `seconds` after a warm-up; errors, and each worker's memory.

    Workers are not recycled (GUNICORN_MAX_REQUESTS=0), so the same workers serve the whole
    soak and a leak shows as growth. The baseline is each worker's RSS after the warm-up, which
    runs the same mix, so first-request imports and filling caches do not count as growth.
    """
    script = Path(tempfile.mkdtemp()) / "mix.lua"
    script.write_text(MIX % css)
    command = ["wrk", "-t2", f"-c{connections}", "-d{}s", "-s", str(script), base]
    warmup = [c.replace("{}", str(SOAK_WARMUP_SECONDS)) for c in command]
    subprocess.run(warmup, capture_output=True, check=True, timeout=SOAK_WARMUP_SECONDS + 60)
    before = _worker_rss(master)
    out = subprocess.run(
        [c.replace("{}", str(seconds)) for c in command],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    after = _worker_rss(master)
    non_2xx_3xx = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    # wrk prints this line only when there were socket errors.
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    counts = map(int, found.groups()) if found else [0] * 4
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), counts, strict=True))
    return {
        "seconds": seconds, "connections": connections, "warmup": SOAK_WARMUP_SECONDS,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "non_2xx_3xx": non_2xx_3xx, "socket_errors": socket_errors,
        "errors": non_2xx_3xx + sum(socket_errors.values()),
        "before": before, "after": after,
    }  # fmt: skip


def _print_soak(soak: dict) -> None:
    """The soak's figures, each worker's memory, and whether its goals were met."""
    sockets = ", ".join(f"{kind} {n}" for kind, n in soak["socket_errors"].items())
    print(
        f"\nsoak: {soak['seconds']} s of mixed pages at {soak['connections']} connections, worker "
        f"recycling off (GUNICORN_MAX_REQUESTS=0), after a {soak['warmup']} s warm-up of the "
        f"same mix\n  {soak['requests']:,} requests ({soak['rps']:,.0f} req/s); "
        f"errors: {soak['errors']} (non-2xx/3xx {soak['non_2xx_3xx']}; socket {sockets})"
    )
    print("  worker RSS, baseline = after the warm-up -> at the end of the soak:")
    before, after = soak["before"], soak["after"]
    growths = []
    for pid in sorted(before.keys() & after.keys()):
        growth = (after[pid] - before[pid]) / before[pid]
        growths.append(growth)
        print(f"    worker {pid}: {before[pid]:.1f} -> {after[pid]:.1f} MB ({growth:+.1%})")
    replaced = sorted(before.keys() ^ after.keys())
    if replaced:
        print(f"    workers started or gone during the soak (not comparable): {replaced}")
    no_errors = soak["errors"] == 0
    small = bool(growths) and not replaced and max(growths) < SOAK_GROWTH_LIMIT
    largest = f"largest {max(growths):+.1%}" if growths else "no worker to compare"
    print(
        f"  goals: 0 errors -> {'MET' if no_errors else 'NOT MET'}; growth under "
        f"{SOAK_GROWTH_LIMIT:.0%} in every worker ({largest}) -> {'MET' if small else 'NOT MET'}"
    )


def _worker_rss(master: int) -> dict[int, float]:
    """Resident memory (VmRSS, MB) of each of the gunicorn master's worker processes, by pid."""
    workers = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                status = (stat.parent / "status").read_text()
                kilobytes = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
                workers[int(stat.parent.name)] = kilobytes / 1024
        except (OSError, AttributeError):
            continue
    return workers


@contextmanager
def production_server(
    *,
    workers: int = 2,
    env_extra: dict | None = None,
    setup: str = "",
    redis_url: str | None = None,
):
    """Production-like gunicorn on a free 127.0.0.1 port, over a fresh database with two versions.

    Yields (base URL, gunicorn master pid). DEBUG off, whitenoise with collected static files,
    --no-control-socket; the database is a new SQLite file unless BENCH_DATABASE_URL names one.
    `env_extra` adds environment variables; `setup` is Python run by `manage.py shell` first.
    The cache is the default (a folder of the run's own) unless `redis_url` names a Redis.
    """
    workdir = Path(tempfile.mkdtemp(prefix="pamedspa-bench-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "pamedspa.settings",
        "DJANGO_ENV_FILE": "",
        "DJANGO_DEBUG": "off",
        "DJANGO_HTTPS": "off",  # plain HTTP on loopback; TLS lives at the proxy
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
        ),
        "WEB_CONCURRENCY": str(workers),
        # Without Redis, the default cache: a folder of this run's own.
        "DJANGO_CACHE_DIR": str(workdir / "cache"),
        # No worker recycling: a leak must show in the soak's memory figures, not be hidden.
        "GUNICORN_MAX_REQUESTS": "0",
        **(env_extra or {}),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    manage = [PYTHON, "manage.py"]
    for command in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"]):
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True)
    # A second version, so the history and a comparison have something to show.
    second = workdir / "v2.md"
    seed = (ROOT / "policy" / "seed" / "privacy-v1.md").read_text()
    second.write_text(seed.replace("opt in lists.", "partner lists you agreed to."))
    publish = ["publish_policy", str(second), "--summary", "Benchmark change."]
    subprocess.run(manage + publish, cwd=ROOT, env=env, check=True, capture_output=True)
    if setup:
        subprocess.run(manage + ["shell", "-c", setup], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip

    port = free_port()
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "--config", "pamedspa/gunicorn.conf.py",
         "--no-control-socket", "--bind", f"127.0.0.1:{port}", "tests.bench.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base + "/healthz/")
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def stock_server(*, workers: int = 2):
    """The peer: a stock Django project with allauth's defaults (tests/bench/stock_settings.py),
    under the same gunicorn settings, over a SQLite file of its own. Yields its base URL."""
    workdir = Path(tempfile.mkdtemp(prefix="pamedspa-bench-stock-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "tests.bench.stock_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "BENCH_STOCK_DATABASE": str(workdir / "stock.sqlite3"),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_MAX_REQUESTS": "0",
    }
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env,
                   check=True)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "--config", "pamedspa/gunicorn.conf.py",
         "--no-control-socket", "--bind", f"127.0.0.1:{port}",
         "django.core.wsgi:get_wsgi_application()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base + "/__bench__/bare/")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def _get(url: str, headers: list[str] | None = None):
    request = urllib.request.Request(url)
    for header in headers or []:
        key, _, value = header.partition(": ")
        request.add_header(key, value)
    try:
        return urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(url).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def _load(url, headers, seconds, connections):
    """(req/s, p50 ms, p99 ms, errors) from wrk, or from a bounded Python client without it."""
    if shutil.which("wrk"):
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
        for header in headers:
            command += ["-H", header]
        out = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
        p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
        errors = sum(
            int(n)
            for n in re.findall(
                r"(?:Non-2xx or 3xx responses|Socket errors:.*?timeout)\s*:?\s*(\d+)", out
            )
        )
        return rps, p50, p99, errors
    return _python_load(url, headers, seconds, connections)


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def _python_load(url, headers, seconds, connections):
    latencies, errors, stop = [], [0], time.monotonic() + seconds

    def worker():
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = _get(url, headers)
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return len(latencies) / seconds, pick(0.5), pick(0.99), errors[0]


def _sizes(base: str, css: str) -> dict[str, str]:
    sizes = {}
    for label, url in (("/privacy/ HTML", base + "/privacy/"), ("site CSS", base + css)):
        for encoding in ("identity", "gzip", "br"):
            response = _get(url, [f"Accept-Encoding: {encoding}"])
            body = response.read()
            used = response.headers.get("Content-Encoding", "none")
            sizes[f"{label} ({used})"] = f"{len(body) / 1024:.1f} KB"
    return sizes


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (not a test): production-like gunicorn on 127.0.0.1, driven by wrk.

Prints req/s, p50 and p99 per endpoint and the ratio /privacy/ ÷ bare Django view, measured in
the same run. Exits non-zero only if the run itself fails.

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
from contextlib import contextmanager
from pathlib import Path

from tests.processes import ROOT, free_port

PYTHON = sys.executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="Load time per endpoint.")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers.")
    parser.add_argument("--rounds", type=int, default=5, help="Pairs of bare and /privacy/ runs.")
    parser.add_argument("--soak", type=int, default=0, help="Then soak for this many seconds.")
    args = parser.parse_args()

    with production_server(workers=args.workers) as (base, master):
        page = _get(base + "/privacy/")
        css = (
            re.search(rb'href="(/static/css/site\.[0-9a-f]+\.css)"', page.read()).group(1).decode()
        )
        etag = page.headers["ETag"]
        endpoints = [
            ("bare Django view (ceiling)", base + "/__bench__/bare/", []),
            ("bare view, 24 KB body", base + "/__bench__/bare-24k/", []),
            ("/privacy/", base + "/privacy/", []),
            ("/privacy/, as browsers ask (br)", base + "/privacy/", [BROWSER_ENCODINGS]),
            ("/privacy/versions/1/", base + "/privacy/versions/1/", []),
            ("/privacy/ 304 (If-None-Match)", base + "/privacy/", [f"If-None-Match: {etag}"]),
            ("/accounts/login/ (GET)", base + "/accounts/login/", []),
            ("static CSS (whitenoise)", base + css, []),
        ]
        for _, url, headers in endpoints:
            _get(url, headers)  # warm caches
        # The ratio's two endpoints run in back-to-back pairs, several times over, so that a
        # noisy neighbour on a shared machine skews one pair rather than the whole answer.
        paired = [e for e in endpoints if e[0] in {"bare Django view (ceiling)", "/privacy/"}]
        runs = {name: [] for name, _, _ in endpoints}
        for _ in range(args.rounds):
            for name, url, headers in paired:
                runs[name].append(_load(url, headers, args.seconds, args.connections))
        for name, url, headers in endpoints:
            if not runs[name]:
                runs[name].append(_load(url, headers, args.seconds, args.connections))
        sizes = _sizes(base, css)
        soak = _soak(master, base, css, args.soak, 32) if args.soak else None

    tool = "wrk" if shutil.which("wrk") else "python client"
    setup = f"gunicorn {args.workers} sync workers, {args.connections} connections"
    print(f"\nHTTP benchmark: {setup}, {args.seconds} s per run, {tool}, loopback\n")
    print(f"{'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, results in runs.items():
        rps, p50, p99, _ = statistics.median_low(results)  # the median run, by req/s
        errors = sum(result[3] for result in results)
        print(f"{name:34} {rps:9,.0f} {p50:8.2f} {p99:8.2f} {errors:7}")
    bare, privacy = runs[paired[0][0]], runs[paired[1][0]]
    ratios = [page[0] / ceiling[0] for ceiling, page in zip(bare, privacy, strict=True)]
    each = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"\nratio /privacy/ ÷ bare view: {statistics.median(ratios):.2f} (goal ≥ 0.90; "
        f"median of {len(ratios)} back-to-back pairs: {each})"
    )
    print("sizes: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    if soak:
        print(
            f"soak: {soak['seconds']} s at 32 connections, mixed pages: {soak['requests']:,} "
            f"requests, {soak['errors']} errors; worker memory {soak['before']:.1f} -> "
            f"{soak['after']:.1f} MB ({soak['growth']:+.1%}, limit +10%)"
        )
    return 0


BROWSER_ENCODINGS = "Accept-Encoding: gzip, deflate, br, zstd"

MIX = """
paths = {"/privacy/", "/privacy/versions/", "/privacy/versions/1/compare/2/",
         "/accounts/login/", "%s"}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def _soak(master: int, base: str, css: str, seconds: int, connections: int) -> dict:
    """Mixed pages for `seconds`; errors, and the workers' memory before and after."""
    script = Path(tempfile.mkdtemp()) / "mix.lua"
    script.write_text(MIX % css)
    command = ["wrk", "-t2", f"-c{connections}", "-d{}s", "-s", str(script), base]
    subprocess.run([c.replace("{}", "5") for c in command], capture_output=True, check=True)
    before = _workers_rss(master)
    out = subprocess.run(
        [c.replace("{}", str(seconds)) for c in command],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    after = _workers_rss(master)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "seconds": seconds, "requests": requests, "errors": errors,
        "before": before, "after": after, "growth": (after - before) / before,
    }  # fmt: skip


def _workers_rss(master: int) -> float:
    """Total resident memory (MB) of the gunicorn master's worker processes."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                status = (stat.parent / "status").read_text()
                total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        except (OSError, AttributeError):
            continue
    return total / 1024


@contextmanager
def production_server(*, workers: int = 2, env_extra: dict | None = None, setup: str = ""):
    """Production-like gunicorn on a free 127.0.0.1 port, over a fresh database with two versions.

    Yields (base URL, gunicorn master pid). DEBUG off, whitenoise with collected static files,
    --no-control-socket; the database is a new SQLite file unless BENCH_DATABASE_URL names one.
    `env_extra` adds environment variables; `setup` is Python run by `manage.py shell` first.
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
        # No worker recycling: a leak must show in the soak's memory figures, not be hidden.
        "GUNICORN_MAX_REQUESTS": "0",
        **(env_extra or {}),
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
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

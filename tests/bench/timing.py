"""Benchmark (not a test): does an attacker learn from response times which accounts exist?

Against production-like gunicorn (real Argon2 hashing, DEBUG off), it times pairs of requests
that must cost the same: signup with a taken vs a new email, and a wrong password for a known
vs an unknown email, then username. Samples alternate A, B, A, B so drift hits both alike. Each
sample comes from its own made-up client address (the server trusts one proxy hop here), and
each known login is a different account, so no rate limit answers early.

    python -m tests.bench.timing [--samples 30]

Prints the median of each side and their ratio; the goal is 0.8-1.25 for every pair.
"""

import argparse
import http.cookiejar
import re
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request

from tests.bench.http import production_server

ACCOUNTS = 64
SETUP = f"""
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
User = get_user_model()
password = make_password("a long enough password 1")
for n in range({ACCOUNTS}):
    user = User.objects.create(username=f"known{{n}}", email=f"known{{n}}@example.com",
                               password=password)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30, help="Per side of each pair (≥ 30).")
    args = parser.parse_args()
    samples = min(max(args.samples, 30), ACCOUNTS // 2)

    env = {"ALLAUTH_TRUSTED_PROXY_COUNT": "1"}
    with production_server(workers=1, env_extra=env, setup=SETUP) as (base, _):
        client = Client(base)
        pairs = {
            "signup: taken email ÷ new email": (
                lambda i: client.signup(f"taker{i}", f"known{i}@example.com"),
                lambda i: client.signup(f"fresh{i}", f"fresh{i}@example.com"),
            ),
            "login: known email ÷ unknown email": (
                lambda i: client.login(f"known{i}@example.com"),
                lambda i: client.login(f"nobody{i}@example.com"),
            ),
            "login: known username ÷ unknown username": (
                lambda i: client.login(f"known{samples + i}"),
                lambda i: client.login(f"nobody{i}"),
            ),
        }
        results = {}
        for name, (known, unknown) in pairs.items():
            known(-1), unknown(-1)  # warm up both paths
            times = ([], [])
            for i in range(samples):
                times[0].append(known(i))
                times[1].append(unknown(i))
            results[name] = times

    print(f"\nTiming pairs: gunicorn, 1 worker, Argon2, {samples} samples per side, loopback\n")
    print(f"{'pair':44} {'A ms':>8} {'B ms':>8} {'ratio':>7}  goal 0.80-1.25")
    for name, (a, b) in results.items():
        ratio = statistics.median(a) / statistics.median(b)
        verdict = "ok" if 0.8 <= ratio <= 1.25 else "OUT OF BOUNDS"
        print(f"{name:44} {statistics.median(a):8.1f} {statistics.median(b):8.1f} "
              f"{ratio:7.2f}  {verdict}")  # fmt: skip
    return 0


class Client:
    """One fresh browser-like session per sample: GET the form (untimed), POST it (timed)."""

    def __init__(self, base: str):
        self.base = base
        self.address = 0

    def signup(self, username: str, email: str) -> float:
        return self._post("/accounts/signup/", {
            "username": username, "email": email, "password1": "a long enough password 1",
            "password2": "a long enough password 1", "accept_policy": "on", "website": "",
        })  # fmt: skip

    def login(self, login: str) -> float:
        return self._post("/accounts/login/", {"login": login, "password": "wrong password 1"})

    def _post(self, path: str, data: dict) -> float:
        self.address += 1
        forwarded = (
            f"10.{self.address // 65536 % 256}.{self.address // 256 % 256}.{self.address % 256}"
        )
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("X-Forwarded-For", forwarded)]
        form = opener.open(self.base + path, timeout=30).read().decode()
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        body = urllib.parse.urlencode({**fields, **data}).encode()
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Referer", self.base + path)
        start = time.perf_counter()
        try:
            with opener.open(request, timeout=30) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        elapsed = (time.perf_counter() - start) * 1000
        if status >= 400:
            raise SystemExit(f"{path} answered {status}: the pair would not be comparable")
        return elapsed


if __name__ == "__main__":
    raise SystemExit(main())

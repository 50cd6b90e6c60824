"""Debian's nginx running deploy/nginx/pamedspa.conf, for the deployment test and the benchmark.

Neither keeps a second copy of the config: the site file is rendered from deploy/ with local
ports, names and paths (`SITE_RENDERING`), inside Debian's own /etc/nginx/nginx.conf with its
pid, logs and temporary files moved into a folder of the caller's. nginx runs in the
foreground as a child process, and `stop` ends it within a bounded wait.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.processes import ROOT

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
DEBIAN_CONF = Path("/etc/nginx/nginx.conf")
SITE = ROOT / "deploy" / "nginx" / "pamedspa.conf"


def site_rendering(folder: Path, *, upstreams, http_port, https_port, cert, key) -> list:
    """(text in deploy/nginx/pamedspa.conf, what the local copy says instead), in order."""
    first, second = upstreams
    return [
        ("server app1.internal:8000", f"server {first}"),
        ("server app2.internal:8000", f"server {second}"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("server_name www.pamedspa.biz;", "server_name localhost;"),
        ("/etc/letsencrypt/live/www.pamedspa.biz/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/www.pamedspa.biz/privkey.pem", str(key)),
        ("/var/cache/nginx/pamedspa/", f"{folder}/cache/"),
        ("/var/log/nginx/", f"{folder}/logs/"),
        ("/var/www/letsencrypt", f"{folder}/acme"),
    ]


def main_rendering(folder: Path, site: Path) -> list:
    """Debian's nginx.conf, with everything it writes or includes moved into `folder`."""
    temp = "\n".join(
        f"\t{name}_temp_path {folder}/temp/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, workers would otherwise run as www-data, who cannot enter the caller's folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return [
        ("user www-data;", user),
        ("pid /run/nginx.pid;", f"pid {folder}/nginx.pid;\ndaemon off;"),
        ("error_log /var/log/nginx/error.log;", f"error_log {folder}/logs/error.log;"),
        ("access_log /var/log/nginx/access.log;", f"access_log {folder}/logs/access.log;\n{temp}"),
        ("include /etc/nginx/conf.d/*.conf;", ""),
        ("include /etc/nginx/sites-enabled/*;", f"include {site};"),
    ]


def _replace(text: str, replacements: list, source: Path) -> str:
    for old, new in replacements:
        if old not in text:
            raise AssertionError(f"{source} no longer has {old!r}: update tests/nginx.py")
        text = text.replace(old, new)
    return text


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A one-day certificate for localhost (its own CA: clients trust it by this file)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class Nginx:
    """Debian's nginx in front of `upstreams` ("host:port" each), serving from `folder`."""

    def __init__(
        self, folder: Path, *, upstreams: tuple[str, str], http_port: int, https_port: int
    ):
        self.folder = folder
        self.http_port = http_port
        self.https_port = https_port
        for sub in ("logs", "temp", "cache", "acme"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self.cert, self.key = self_signed_certificate(folder)
        site = folder / "pamedspa.conf"
        rendering = site_rendering(
            folder, upstreams=upstreams, http_port=http_port, https_port=https_port,
            cert=self.cert, key=self.key,
        )  # fmt: skip
        site.write_text(_replace(SITE.read_text(), rendering, SITE))
        self.conf = folder / "nginx.conf"
        self.conf.write_text(
            _replace(DEBIAN_CONF.read_text(), main_rendering(folder, site), DEBIAN_CONF)
        )
        self.access_log = folder / "logs" / "pamedspa.access.log"
        self.error_log = folder / "logs" / "error.log"
        self.process: subprocess.Popen | None = None

    def command(self, *args: str) -> list[str]:
        return [NGINX, "-p", str(self.folder), "-c", str(self.conf), *args]

    def start(self) -> None:
        test = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        if test.returncode:
            raise AssertionError(f"nginx -t refused the config:\n{test.stderr}")
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        for port in (self.http_port, self.https_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"nginx did not start:\n{self.error_tail()}") from None
                    time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # fast shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def error_tail(self) -> str:
        return self.error_log.read_text(errors="replace")[-3000:] if self.error_log.exists() else ""

    def log_line(self, marker: str, timeout: float = 5) -> str:
        """The access-log line of the request whose target contains `marker`."""
        pattern = re.compile(rf'^.*"[A-Z]+ [^ "]*{re.escape(marker)}[^ "]* HTTP/[^"]*".*$', re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.access_log.read_text(errors="replace") if self.access_log.exists() else ""
            found = pattern.findall(text)
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no access-log line for {marker!r}:\n{text[-2000:]}")
            time.sleep(0.05)

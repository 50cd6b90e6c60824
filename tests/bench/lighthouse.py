"""Lighthouse (npm, pinned) with Debian's Chromium against production-like gunicorn.

Prints the four category scores for /privacy/ and /accounts/login/, and every weighted audit
short of full marks, with its own score and Lighthouse's explanation (a category can still
round to 100 with one such audit at 0.99). Exits non-zero only if the run itself fails.

    python -m tests.bench.lighthouse
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.http import production_server

LIGHTHOUSE = "lighthouse@12.8.2"
PAGES = ["/privacy/", "/accounts/login/"]
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync"
)
CATEGORIES = "performance,accessibility,best-practices,seo"


def main() -> int:
    out = Path(tempfile.mkdtemp(prefix="pamedspa-lighthouse-"))
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    with production_server() as (base, _):
        for page in PAGES:
            report = _run(base + page, out / "report.json", env)
            scores = {k: v["score"] for k, v in report["categories"].items()}
            shown = ", ".join(f"{k} {round(v * 100)}" for k, v in scores.items())
            print(f"{page:18} {shown}")
            weighted = {
                ref["id"]
                for category in report["categories"].values()
                for ref in category["auditRefs"]
                if ref.get("weight")
            }
            for audit in report["audits"].values():
                short = audit.get("score") is not None and audit["score"] < 1
                if short and audit["id"] in weighted:  # diagnostics that count for nothing
                    why = audit.get("explanation") or audit.get("displayValue") or audit["title"]
                    print(f"{'':18}   short of full marks: {audit['id']} scored "
                          f"{audit['score']:.2f} ({why})")  # fmt: skip
    return 0


def _run(url: str, path: Path, env: dict) -> dict:
    """One Lighthouse run; Chromium's trace sometimes misses a navigation, so retry twice."""
    for _ in range(3):
        subprocess.run(
            ["npx", "--yes", LIGHTHOUSE, url, "--quiet", f"--chrome-flags={CHROME_FLAGS}",
             "--output=json", f"--output-path={path}", f"--only-categories={CATEGORIES}"],
            env=env, check=False, capture_output=True, timeout=300,
        )  # fmt: skip
        report = json.loads(path.read_text()) if path.exists() else {}
        scores = [c.get("score") for c in report.get("categories", {}).values()]
        if scores and None not in scores:
            return report
    raise SystemExit(f"Lighthouse could not audit {url}")


if __name__ == "__main__":
    sys.exit(main())

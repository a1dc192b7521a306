"""The docs a volunteer reads are inside the project, their links resolve, and the API walkthrough
runs as written (curl + jq against a live site)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support.cli import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OWNED_ELSEWHERE = {"install.md"}  # written on the installer's branch


def test_nothing_points_outside_the_project():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/" not in text and "DESIGN.md" not in text, doc


def test_relative_links_resolve():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if (doc.parent / target).name in OWNED_ELSEWHERE:
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"


def test_readme_names_the_venv_the_dashboard_and_the_manager_role():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# motcua")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[:2] == [
        "./run demo    # a whole demo site: SQLite, its own Mosquitto, seed catalogue, simulated traffic",
        "./run test    # the whole test suite (starts its own Mosquitto and PostgreSQL)",
    ]
    assert ".venv/bin/motcua" in text and "/dashboard/" in text and "`manager`" in text
    for page in ("docs/design.md", "docs/mqtt.md", "docs/api.md", "docs/troubleshooting.md"):
        assert page in text


def test_troubleshooting_covers_every_check_of_the_doctor():
    source = (ROOT / "server" / "ops" / "health.py").read_text(encoding="utf-8")
    names = set(re.findall(r'Check\(\s*"([a-z]+)"', source)) | {"device"}
    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    headings = {word for line in page.splitlines() if line.startswith("## ")
                for word in re.findall(r"`([a-z]+)", line)}
    assert names <= headings, names - headings


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None, reason="needs curl and jq")
def test_the_curl_walkthrough_runs_as_written(site):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    walkthrough = text.split("## Walkthrough with curl", 1)[1].split("## Endpoints", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", walkthrough, flags=re.S)
    assert len(blocks) >= 7
    settings = (f"BASE={site.base_url}\nSITE=demo\nKIOSK_TOKEN={site.tokens['kiosk']}\n"
                "PASSWORD=motcua-test\n")
    script = "set -euo pipefail\n" + settings + "\n".join(blocks[1:])
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"number":"A001"' in out.stdout
    assert '"status":"serving"' in out.stdout and '"status":"processing"' in out.stdout
    assert '"status":"done"' in out.stdout
    assert "ok database:" in out.stdout and "ok migrations:" in out.stdout


def test_every_endpoint_in_docs_has_a_summary_a_tag_and_who_may_call_it():
    from server.api.app import create_app
    from server.config import Settings
    from server.ops.api_docs import DOCS

    schema = create_app(Settings(demo=True)).openapi()
    operations = {(m, p): op for p, ops in schema["paths"].items() for m, op in ops.items()}
    stale = sorted(k for k in DOCS if k not in operations)
    assert not stale, stale  # the table in server/ops/api_docs.py follows the routes
    for key in [*DOCS, ("get", "/api/v1/health")]:
        assert operations[key].get("tags") and operations[key].get("summary"), key
    assert "manager" in operations[("post", "/api/v1/auth/token")]["description"]
    assert "idempotency_key" in operations[("post", "/api/v1/sites/{site}/tickets")]["description"]


def test_province_routes_have_a_summary_and_a_tag():
    from server.api.app import create_app
    from server.config import Settings

    schema = create_app(Settings(demo=True, role="province")).openapi()
    for path in ("/api/v1/province/ingest", "/api/v1/province/sites/{site}/head"):
        (operation,) = schema["paths"][path].values()
        assert operation["summary"] and operation["tags"] == ["province"] and "signed" in operation["description"].lower()

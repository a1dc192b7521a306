"""A throwaway CA and a broker certificate made with the ``openssl`` CLI, for TLS between brokers.

EC P-256 keys (quick to make), valid two days, the broker's certificate for ``127.0.0.1`` (a
subject alternative name, which is what a TLS client checks the address against).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def make_ca(folder: Path, name: str) -> Path:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder)
    return folder / f"{name}.crt"


def province_pki(folder: Path) -> dict[str, Path]:
    """``ca``: the province's own CA; ``cert``/``key``: its broker's, for 127.0.0.1, signed by ``ca``;
    ``other_ca``: an unrelated CA (what a site given the wrong file would check with)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca(folder, "tinh-ca")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "broker.key", "-out", "broker.csr", cwd=folder)
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "tinh-ca.crt", "-CAkey", "tinh-ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "broker.crt", cwd=folder)
    return {"ca": ca, "other_ca": make_ca(folder, "other-ca"), "cert": folder / "broker.crt", "key": folder / "broker.key"}


def tls_province_broker(workdir: Path, pki: dict[str, Path], site: str, users: dict[str, str]):
    """A province broker as its operator sets it up: the TLS listener from ``motcua province
    broker-config`` (plus a plain loopback listener for the test's own clients), ``site``'s bridge
    user from ``motcua province bridge-user``; started. ``.bridge_url`` is the mqtts:// URL it printed,
    ``.tls_port`` the listener's port."""
    import sys

    from server.bridge import ProvinceBroker
    from server.broker import Mosquitto, free_port

    def motcua(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "motcua", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    broker = Mosquitto(workdir, users=dict(users), acl="")
    broker.tls_port = free_port()
    files = ["--password-file", str(workdir / "passwd"), "--acl-file", str(workdir / "acl")]
    broker.conf = motcua("province", "broker-config", "--listen", f"127.0.0.1:{broker.tls_port}",
                         "--certfile", str(pki["cert"]), "--keyfile", str(pki["key"]), *files)
    broker.write_config()
    broker.bridge_url = motcua("province", "bridge-user", site, "--address", f"127.0.0.1:{broker.tls_port}",
                               *files).strip()
    broker.users[f"bridge-{site}"] = ProvinceBroker.parse(broker.bridge_url, site).password
    return broker.start()

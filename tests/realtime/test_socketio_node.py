"""The frontend's own client library against /market: `socket.io-client` from npm, run by node.

The package is installed from the npm registry into `var/node-socketio/` on first use (so a
fresh machine works); the test is skipped only when node/npm are not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True)
CLIENT_VERSION = "4.8.1"  # socket.io-client, Engine.IO v4 (what the frontend pins)
SCRIPT = Path(__file__).with_name("socketio_client.js")


def _node_modules() -> Path:
    folder = Path(settings.VAR_DIR) / "node-socketio"
    module = folder / "node_modules" / "socket.io-client"
    if not module.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603
            [
                shutil.which("npm") or "npm",
                "install",
                "--prefix",
                str(folder),
                "--no-audit",
                "--no-fund",
                f"socket.io-client@{CLIENT_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return folder / "node_modules"


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")
def test_the_npm_socket_io_client_receives_order_books(live_asgi: str) -> None:
    modules = _node_modules()
    result = subprocess.run(  # noqa: S603
        [shutil.which("node") or "node", str(SCRIPT), live_asgi, "paper", "BTC/USDT"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["connected"]["clientId"]
    book = seen["books"][0]["data"]
    assert (book["exchange"], book["symbol"]) == ("paper", "BTC/USDT")
    assert book["bids"][0]["price"] and book["asks"][0]["amount"]
    assert "NOPE/USDT not listed" in seen["errors"][0]["message"]

"""HuFi settings: the wallet key is required in production and derived in development."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parents[2]
_PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "from eth_account import Account; print(Account.from_key(settings.HUFI_WALLET_PRIVATE_KEY).address)"
)


def _run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HUFI_", "MRMARKET_"))}
    clean.update({"MRMARKET_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mrmarket.settings"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,  # a bound, not a timing assertion: busy machines are slow
    )


def test_development_derives_a_stable_wallet_key_under_var(tmp_path: Path) -> None:
    result = _run({}, tmp_path)
    assert result.returncode == 0, result.stderr
    # The key is a pure function of the seed kept under var/: a restart derives the same one.
    seed = (tmp_path / "hufi_wallet_seed").read_text().strip()
    key = "0x" + hashlib.sha256(seed.encode()).hexdigest()
    assert result.stdout.strip() == Account.from_key(key).address


def test_production_requires_the_wallet_key(tmp_path: Path) -> None:
    env = {
        "MRMARKET_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "ADMIN_PASSWORD": "pw",
        "MIXIN_OAUTH_CLIENT_SECRET": "s",
    }
    result = _run(env, tmp_path)
    assert result.returncode != 0
    assert "HUFI_WALLET_PRIVATE_KEY is required in production" in result.stderr
    assert not (tmp_path / "hufi_wallet_seed").exists()

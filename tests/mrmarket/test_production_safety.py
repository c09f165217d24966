"""Production refuses the fake custody, demo commands, weak secrets and malformed keys at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrmarket import secrets_policy
from mrmarket.secrets_policy import WeakSecret

ROOT = Path(__file__).resolve().parents[2]

STRONG = {
    "MRMARKET_ENV": "production",
    "SECRET_KEY": "k9Qz-3vT_wPq8LmN2rXs7YbHc4JdEf6GaUiOoKlMnBvCxZ1y5T0e",
    "ADMIN_PASSWORD": "Correct-Horse-9-Battery",
    "ALLOWED_HOSTS": "mm.example",
    "MIXIN_OAUTH_CLIENT_SECRET": "oauth-client-secret",
    "HUFI_WALLET_PRIVATE_KEY": "0x" + "ab" * 32,
    "EXCHANGE_KEYS_PRIVATE_KEY": "11" * 32,
    "FIELD_ENCRYPTION_KEY": "22" * 32,
    "CUSTODY_BACKEND": "mixin",
    "MIXIN_SESSION_ID": "3e6a8b2c-0f4d-4a1e-9b7c-5d2e8f1a6c30",
    "MIXIN_SESSION_PRIVATE_KEY": "33" * 32,
    "MIXIN_SPEND_PRIVATE_KEY": "44" * 32,
}
_CLEARED = set(STRONG) | {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "ADMIN_JWT_SECRET",
}


def _manage(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    clean.update(
        {"MRMARKET_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "mrmarket.settings"}
    )
    clean["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,  # a bound, not a timing assertion: busy machines are slow
    )


def test_production_with_strong_secrets_and_mixin_custody_starts(tmp_path: Path) -> None:
    result = _manage(["check", "--deploy", "--fail-level", "ERROR"], STRONG, tmp_path)
    assert result.returncode == 0, result.stderr


def test_production_refuses_the_fake_custody_even_by_default(tmp_path: Path) -> None:
    explicit = _manage(["check"], {**STRONG, "CUSTODY_BACKEND": "fake"}, tmp_path)
    assert explicit.returncode != 0
    assert "CUSTODY_BACKEND='fake' is not allowed in production" in explicit.stderr
    # without the variable production defaults to mixin, and then needs its keys
    env = {k: v for k, v in STRONG.items() if not k.startswith(("CUSTODY", "MIXIN_S"))}
    default = _manage(["check"], env, tmp_path)
    assert default.returncode != 0
    assert "CUSTODY_BACKEND=mixin needs MIXIN_SESSION_ID" in default.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_KEY", "x", "SECRET_KEY must be at least 50 characters"),
        ("ADMIN_PASSWORD", "a", "ADMIN_PASSWORD is too weak"),
        ("FIELD_ENCRYPTION_KEY", "not-a-key", "FIELD_ENCRYPTION_KEY must be 32 bytes"),
    ],
)
def test_production_refuses_weak_secrets_and_malformed_keys_at_start(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = _manage(["check"], {**STRONG, name: value}, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_demo_commands_are_refused_in_production(tmp_path: Path) -> None:
    assert _manage(["migrate", "-v0"], STRONG, tmp_path).returncode == 0
    seed = _manage(["seed_demo"], STRONG, tmp_path)
    assert seed.returncode != 0
    assert "seed_demo is refused in production" in seed.stderr
    pay = _manage(["demo_pay", "00000000-0000-4000-8000-000000000001"], STRONG, tmp_path)
    assert pay.returncode != 0
    # demo_pay belongs to the fake custody app, which production never installs
    assert "Unknown command: 'demo_pay'" in pay.stderr


# ------------------------------------------------------------------ the rules, one by one


@pytest.mark.parametrize(
    "value",
    ["x", "a" * 80, "django-insecure-" + "q1w2e3r4t5y6u7i8o9p0" * 3, "abcdefghij" * 4],
)
def test_weak_signing_secrets_are_refused(value: str) -> None:
    with pytest.raises(WeakSecret):
        secrets_policy.signing_secret_check("SECRET_KEY", value)


@pytest.mark.parametrize(
    "value", ["a", "password", "aaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabc", "12345678901234"]
)
def test_weak_admin_passwords_are_refused(value: str) -> None:
    with pytest.raises(WeakSecret):
        secrets_policy.password_check("ADMIN_PASSWORD", value)


def test_a_long_mixed_password_passes() -> None:
    secrets_policy.password_check("ADMIN_PASSWORD", "Correct-Horse-9-Battery")
    assert secrets_policy.password_bits("Correct-Horse-9-Battery") > 64


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("11" * 32, True),
        ("ERERERERERERERERERERERERERERERERERERERERERE=", True),  # base64 of 32 bytes
        ("11" * 31, False),
        ("zz" * 32, False),
        ("", False),
    ],
)
def test_32_byte_key_formats(value: str, ok: bool) -> None:
    if ok:
        assert len(secrets_policy.key32_parse("K", value)) == 32
    else:
        with pytest.raises(WeakSecret):
            secrets_policy.key32_parse("K", value)


def test_malformed_wallet_and_mixin_keys_are_refused() -> None:
    values = {
        "EXCHANGE_KEYS_PRIVATE_KEY": "11" * 32,
        "FIELD_ENCRYPTION_KEY": "22" * 32,
        "HUFI_WALLET_PRIVATE_KEY": "0x1234",
    }
    with pytest.raises(WeakSecret, match="HUFI_WALLET_PRIVATE_KEY"):
        secrets_policy.key_formats_check(values, [])
    values["HUFI_WALLET_PRIVATE_KEY"] = "0x" + "ab" * 32
    with pytest.raises(WeakSecret, match="MIXIN_SPEND_PRIVATE_KEY"):
        secrets_policy.key_formats_check({**values, "MIXIN_SPEND_PRIVATE_KEY": "nothex!"}, [])
    with pytest.raises(WeakSecret, match=r"FIELD_ENCRYPTION_OLD_KEYS\[1\]"):
        secrets_policy.key_formats_check(values, ["33" * 32, "short"])


def test_production_never_installs_a_stand_in_nor_keeps_the_fake_custody_tables(
    tmp_path: Path,
) -> None:
    # given a fresh production database, migrated (orders 0001 still creates the old tables)
    migrated = _manage(["migrate", "-v0"], STRONG, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    # then no stand-in app is installed and orders 0008 dropped the fake custody's tables
    shown = _manage(
        [
            "shell",
            "-c",
            "from django.conf import settings; from django.db import connection; "
            "print(sorted(a for a in settings.INSTALLED_APPS if a.startswith('standins'))); "
            "print(sorted(t for t in connection.introspection.table_names() if 'fake' in t))",
        ],
        STRONG,
        tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-2:] == ["[]", "[]"]

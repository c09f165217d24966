"""Typed readers for settings that come from the environment (STYLE §11)."""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path


class MissingSetting(RuntimeError):
    pass


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise MissingSetting(f"environment variable {name} is required in production")
        return default if default is not None else ""
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_decimal(name: str, default: str) -> Decimal:
    value = os.environ.get(name)
    return Decimal(value if value not in (None, "") else default)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def dev_secret(path: Path, nbytes: int = 48) -> str:
    """A secret generated once for development and kept under var/ so restarts reuse it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value

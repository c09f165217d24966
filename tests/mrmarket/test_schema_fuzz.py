"""The bounded schemathesis run of CI (issue 10/11): `scripts/fuzz.sh` — a fresh, healthy
embedded instance (gunicorn, worker, beat, the CoinGecko and Mixin OAuth stand-ins), every
operation of the served schema, once with a user token and once with an admin JWT — with few
examples per operation, failing on any 5xx or any response the schema does not describe
(status, content type, body). `make fuzz` is the same run with more examples and phases.

The instance is its own SQLite database under a temporary directory (never the test
database), so this test needs nothing from pytest-django.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Bounded: a few generated cases per operation and token. The coverage phase (every documented
# status and boundary, deterministic) is `make fuzz`'s; here random examples keep it short.
EXAMPLES = os.environ.get("FUZZ_CI_EXAMPLES", "4")
PHASES = os.environ.get("FUZZ_CI_PHASES", "examples,fuzzing")
TIMEOUT_S = 900  # a bound against a hung server, not a speed assertion


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _three_free_ports(first: int = 19600, last: int = 19699) -> int:
    """A port p with p+1 and p+2 also free (web, CoinGecko stand-in, Mixin OAuth stand-in)."""
    for port in range(first, last - 1, 3):
        if all(_free(port + i) for i in range(3)):
            return port
    raise AssertionError(f"no three free ports in {first}-{last}")


def test_no_operation_answers_a_5xx_or_off_its_schema() -> None:
    port = int(os.environ.get("FUZZ_PORT") or _three_free_ports())
    env = {**os.environ, "FUZZ_PORT": str(port), "FUZZ_EXAMPLES": EXAMPLES, "FUZZ_PHASES": PHASES}

    result = subprocess.run(  # noqa: S603 - our own script, fixed argv
        [str(ROOT / "scripts" / "fuzz.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )

    out = result.stdout + result.stderr
    # Both runs happened and covered every operation (a run that tested nothing is not green).
    assert out.count("== schemathesis with the") == 2, out[-4000:]
    tested = re.findall(r"Tested: (\d+)", out)
    assert len(tested) == 2 and all(int(n) >= 80 for n in tested), out[-4000:]
    assert result.returncode == 0, out[-12000:]
    assert "Server error" not in out and "Runtime Error" not in out, out[-12000:]

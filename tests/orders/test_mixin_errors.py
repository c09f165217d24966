"""Mixin's errors as Mixin sends them, and what the client makes of each.

The emulator answers with the status and envelope developers.mixin.one documents ("Error
Codes": application errors on HTTP 202, server errors on HTTP 500, both as
`{"error": {"status", "code", "description"}}`); the client turns each into a custody error
whose class says whether the same call may be retried."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orders.custody.base import (
    CustodyAuthFailed,
    CustodyError,
    CustodyInvalidRequest,
    CustodyNotFound,
    CustodyRateLimited,
    CustodyRejected,
    CustodyUnavailable,
    InsufficientBalance,
    TransactionStatus,
)
from orders.custody.mixin.auth import MixinSession
from orders.custody.mixin.client import MixinSafeCustody
from standins.mixin.common import MIXIN_ERRORS
from standins.mixin.emulator import MixinSafeEmulator
from tests.support.mixin_safe import BOT, BTC, SESSION, USER, mixin_client, requests_to

# code -> (the client's error class, retryable). Every documented code is listed: a code
# added to the emulator's table without a decision here fails the first test.
REACTION: dict[int, tuple[type[CustodyError], bool]] = {
    400: (CustodyInvalidRequest, False),
    401: (CustodyAuthFailed, False),
    403: (CustodyAuthFailed, False),
    404: (CustodyNotFound, False),
    429: (CustodyRateLimited, True),
    10002: (CustodyInvalidRequest, False),
    10006: (CustodyRejected, False),
    10104: (CustodyUnavailable, True),
    10105: (CustodyUnavailable, True),
    20117: (InsufficientBalance, False),
    20120: (CustodyInvalidRequest, False),
    20124: (CustodyInvalidRequest, False),
    20127: (CustodyInvalidRequest, False),
    20131: (CustodyInvalidRequest, False),
    20134: (CustodyInvalidRequest, False),
    20135: (CustodyInvalidRequest, False),
    20150: (CustodyInvalidRequest, False),
    30102: (CustodyInvalidRequest, False),
    500: (CustodyUnavailable, True),
    7000: (CustodyUnavailable, True),
    7001: (CustodyUnavailable, True),
}


def test_every_documented_code_has_a_decided_reaction() -> None:
    assert set(REACTION) == set(MIXIN_ERRORS)


@pytest.mark.parametrize("code", sorted(MIXIN_ERRORS))
def test_each_error_comes_in_mixins_envelope_and_maps_to_its_class(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey, code: int
) -> None:
    status, description = MIXIN_ERRORS[code]
    error_class, retryable = REACTION[code]
    client = mixin_client(emulator, key)
    emulator.fail_next(code=code)
    with pytest.raises(error_class) as info:
        client.asset(asset_id=BTC)
    assert (info.value.code, info.value.retryable) == (code, retryable)
    # then the same call is served normally
    assert client.asset(asset_id=BTC).asset_id == BTC
    # and the envelope is the documented one (seen raw, without the client)
    emulator.fail_next(code=code)
    raw = httpx.get(f"{emulator.base_url}/safe/assets/{BTC}")
    assert raw.status_code == status
    assert raw.json() == {"error": {"status": status, "code": code, "description": description}}


def test_insufficient_balance_is_mixins_20117_on_http_202(emulator: MixinSafeEmulator) -> None:
    emulator.fail_next(code=20117)
    raw = httpx.get(f"{emulator.base_url}/safe/outputs")
    assert raw.status_code == 202
    assert raw.json() == {
        "error": {"status": 202, "code": 20117, "description": "Insufficient balance."}
    }


def test_an_unsigned_call_is_401_on_http_202(emulator: MixinSafeEmulator) -> None:
    raw = httpx.get(f"{emulator.base_url}/safe/assets/{BTC}")
    assert raw.status_code == 202
    assert raw.json()["error"] == {
        "status": 202,
        "code": 401,
        "description": "Unauthorized, maybe invalid token.",
    }


def test_an_unknown_endpoint_is_404_on_http_202(emulator: MixinSafeEmulator) -> None:
    raw = httpx.get(f"{emulator.base_url}/safe/nothing-here")
    assert raw.status_code == 202
    assert raw.json()["error"]["code"] == 404


def test_a_server_error_keeps_mixins_code_and_is_retryable(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.fail_next(code=7000)
    with pytest.raises(CustodyUnavailable) as info:
        mixin_client(emulator, key).asset(asset_id=BTC)
    assert (info.value.code, info.value.retryable) == (7000, True)


def test_a_proxys_bare_502_is_retryable(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.fail_next(status=502)
    with pytest.raises(CustodyUnavailable) as info:
        mixin_client(emulator, key).asset(asset_id=BTC)
    assert (info.value.code, info.value.retryable) == (502, True)


def test_a_deposit_address_still_generating_is_retried_later(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    client = MixinSafeCustody(
        base_url=emulator.base_url,
        session=MixinSession(user_id=BOT, session_id=SESSION, private_key=key),
        entry_public_keys=(emulator.entry_public_key,),
    )
    emulator.generating_chains[BTC] = 1
    with pytest.raises(CustodyUnavailable) as info:
        client.deposit_address(asset_id=BTC)
    assert (info.value.code, info.value.retryable) == (10104, True)
    assert client.deposit_address(asset_id=BTC).destination.startswith("emu")


def test_inputs_a_pending_request_holds_are_locked_until_it_is_sent(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    # given a send requested but not submitted (the submit failed), holding the only output
    emulator.add_output(asset=BTC, amount="2")
    client = mixin_client(emulator, key)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    emulator.fail_submits = 1
    with pytest.raises(CustodyUnavailable):
        client.transfer(request_id=first, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    # when another send wants the same output, then Mixin answers 10105: retry later
    with pytest.raises(CustodyUnavailable) as info:
        client.transfer(request_id=second, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert (info.value.code, info.value.retryable) == (10105, True)
    assert second not in emulator.requests_by_id
    # and once the first is sent, the second spends its change
    done = client.transfer(request_id=first, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert done.status is TransactionStatus.CONFIRMED
    again = client.transfer(request_id=second, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert again.status is TransactionStatus.CONFIRMED
    assert client.wallet_balance(asset_id=BTC) == Decimal(0)
    assert requests_to(emulator, "POST", "/safe/transactions") == 3  # one failed, two sent

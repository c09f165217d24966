"""Wallet login against the emulator (real EIP-191 checks) and the token discipline."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from campaigns.hufi.errors import HufiAuthRejected, HufiFinalError
from campaigns.hufi.oracle import RecordingOracleClient
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.hufi.wallet import ServiceWallet, nonce_message
from campaigns.models import OracleSession
from tests.campaigns.conftest import WALLET_ADDRESS, WALLET_KEY


def _client(oracle) -> RecordingOracleClient:  # type: ignore[no-untyped-def]
    return RecordingOracleClient(base_url=oracle.base_url, timeout=2)


def test_signed_message_is_exactly_the_nonce_json() -> None:
    assert nonce_message("ab12") == '{"nonce":"ab12"}'
    wallet = ServiceWallet(private_key=WALLET_KEY)
    signature = wallet.sign_nonce("ab12")
    recovered = Account.recover_message(
        encode_defunct(text='{"nonce":"ab12"}'), signature=signature
    )
    assert recovered == WALLET_ADDRESS == wallet.address
    assert len(signature) == 132


def test_login_with_a_valid_signature_gets_tokens(oracle) -> None:
    pair = _client(oracle).login(wallet=ServiceWallet(private_key=WALLET_KEY))
    assert pair.refresh_token and pair.access_token
    lifetime = pair.access_expires_at - timezone.now()
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10)
    assert oracle.logins == 1


def test_a_signature_by_another_key_is_refused(oracle) -> None:
    client = _client(oracle)
    nonce = client.nonce(address=WALLET_ADDRESS)
    impostor = ServiceWallet(private_key="0x" + "11" * 32)
    response = httpx.post(
        f"{oracle.base_url}/auth",
        json={"address": WALLET_ADDRESS, "signature": impostor.sign_nonce(nonce)},
    )
    assert response.status_code == 401
    assert oracle.logins == 0
    assert oracle.live_refresh == {}


def test_a_signature_over_another_text_is_refused(oracle) -> None:
    nonce = _client(oracle).nonce(address=WALLET_ADDRESS)
    signed = Account.sign_message(
        encode_defunct(text=f'{{"nonce": "{nonce}"}}'),  # a space: not HuFi's exact text
        private_key=WALLET_KEY,
    )
    response = httpx.post(
        f"{oracle.base_url}/auth",
        json={"address": WALLET_ADDRESS, "signature": "0x" + bytes(signed.signature).hex()},
    )
    assert response.status_code == 401
    assert oracle.logins == 0


def test_a_reused_nonce_signature_is_refused(oracle) -> None:
    wallet = ServiceWallet(private_key=WALLET_KEY)
    nonce = _client(oracle).nonce(address=WALLET_ADDRESS)
    body = {"address": WALLET_ADDRESS, "signature": wallet.sign_nonce(nonce)}
    assert httpx.post(f"{oracle.base_url}/auth", json=body).status_code == 200
    replay = httpx.post(f"{oracle.base_url}/auth", json=body)
    assert replay.status_code == 401
    assert oracle.logins == 1


def test_a_new_login_kills_the_previous_refresh_token(oracle) -> None:
    client = _client(oracle)
    wallet = ServiceWallet(private_key=WALLET_KEY)
    first = client.login(wallet=wallet)
    second = client.login(wallet=wallet)
    with pytest.raises(HufiAuthRejected):
        client.refresh(refresh_token=first.refresh_token)
    rotated = client.refresh(refresh_token=second.refresh_token)
    with pytest.raises(HufiAuthRejected):
        client.refresh(refresh_token=second.refresh_token)  # refreshing rotates it too
    assert rotated.refresh_token != second.refresh_token


def test_protected_endpoints_need_a_bearer_access_token(oracle) -> None:
    for path in ("/campaigns/join", "/campaigns/check-join-status", "/exchange-api-keys"):
        response = httpx.post(
            f"{oracle.base_url}{path}",
            json={"chain_id": 137, "address": "0x" + "2" * 40},
            headers={"Authorization": "Bearer not-a-jwt"},
        )
        assert response.status_code == 401, path


@pytest.mark.django_db
def test_manager_logs_in_once_then_reuses_the_access_token(oracle) -> None:
    manager = OracleTokenManager(
        client=_client(oracle), wallet=ServiceWallet(private_key=WALLET_KEY)
    )
    first = manager.access_token()
    assert manager.access_token() == first
    assert (oracle.logins, oracle.refreshes) == (1, 0)
    row = OracleSession.objects.get(wallet_address=WALLET_ADDRESS)
    assert row.login_count == 1
    # Sealed at rest: the raw tokens are not in the row.
    assert first not in row.access_token_sealed
    assert oracle.live_refresh[WALLET_ADDRESS.lower()] not in row.refresh_token_sealed


@pytest.mark.django_db
def test_manager_refreshes_before_expiry(oracle) -> None:
    now = timezone.now()
    clock = {"now": now}
    manager = OracleTokenManager(
        client=_client(oracle),
        wallet=ServiceWallet(private_key=WALLET_KEY),
        margin=timedelta(seconds=60),
        clock=lambda: clock["now"],
    )
    first = manager.access_token()
    clock["now"] = now + timedelta(minutes=8, seconds=30)  # 90 s left: still fresh
    assert manager.access_token() == first
    clock["now"] = now + timedelta(minutes=9, seconds=30)  # 30 s left: inside the margin
    second = manager.access_token()
    assert second != first
    assert (oracle.logins, oracle.refreshes) == (1, 1)


@pytest.mark.django_db
def test_manager_logs_in_again_when_its_refresh_token_was_rotated_elsewhere(oracle) -> None:
    now = timezone.now()
    clock = {"now": now}
    wallet = ServiceWallet(private_key=WALLET_KEY)
    manager = OracleTokenManager(client=_client(oracle), wallet=wallet, clock=lambda: clock["now"])
    manager.access_token()
    _client(oracle).login(wallet=wallet)  # a rogue second owner kills our refresh token
    clock["now"] = now + timedelta(minutes=11)
    assert manager.access_token()
    assert (oracle.logins, oracle.refreshes) == (3, 0)


@pytest.mark.django_db
def test_a_refused_access_token_is_replaced_once_and_the_call_retried(oracle) -> None:
    manager = OracleTokenManager(
        client=_client(oracle), wallet=ServiceWallet(private_key=WALLET_KEY)
    )
    manager.access_token()
    oracle.jwt_secret = "r" * 64  # every token issued so far is now invalid
    answer = manager.call(
        lambda tok: manager.client.check_join_status(
            access_token=tok, chain_id=137, address="0x" + "2" * 40
        )
    )
    assert answer.status == "not_available"  # a campaign this oracle has not stored
    assert (oracle.logins, oracle.refreshes) == (1, 1)


class _WrongSigner(ServiceWallet):
    def sign_nonce(self, nonce: str) -> str:
        return ServiceWallet(private_key="0x" + "11" * 32).sign_nonce(nonce)


@pytest.mark.django_db
def test_a_refused_login_is_a_final_error_and_stores_nothing(oracle) -> None:
    manager = OracleTokenManager(
        client=_client(oracle), wallet=_WrongSigner(private_key=WALLET_KEY)
    )
    with pytest.raises(HufiFinalError) as raised:
        manager.access_token()
    assert raised.value.status_code == 401 and not raised.value.retryable
    assert oracle.logins == 0
    assert OracleSession.objects.filter(login_count__gt=0).count() == 0


def _race(manager_for_thread, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    tokens: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            tokens.append(manager_for_thread(i).access_token())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    return tokens


@pytest.mark.django_db(transaction=True)
def test_many_threads_needing_a_token_cause_one_login(oracle) -> None:
    oracle.latency = 0.05  # widen the race window
    manager = OracleTokenManager(
        client=_client(oracle), wallet=ServiceWallet(private_key=WALLET_KEY)
    )
    tokens = _race(lambda i: manager, 8)
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert (oracle.logins, oracle.refreshes) == (1, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_separate_processes_share_one_login_through_the_row_lock(oracle) -> None:
    # One manager per thread = no shared in-process lock, as with separate worker processes:
    # only the PostgreSQL row lock keeps them from logging in (and killing refresh tokens) twice.
    oracle.latency = 0.05
    wallet_key = WALLET_KEY
    managers = [
        OracleTokenManager(client=_client(oracle), wallet=ServiceWallet(private_key=wallet_key))
        for _ in range(6)
    ]
    tokens = _race(lambda i: managers[i], 6)
    assert len(set(tokens)) == 1
    assert (oracle.logins, oracle.refreshes) == (1, 0)
    assert OracleSession.objects.get().login_count == 1


# HuFi's own signature vector: Hu-Fi/hufi recording-oracle/src/common/utils/web3.spec.ts,
# "should return exact signature" / "should return true for valid exact signature" /
# "should recover the exact signer" (PERMANENT_PRIVATE_KEY, _ADDRESS, _MESSAGE, _SIGNATURE).
HUFI_PERMANENT_PRIVATE_KEY = "cb254fa8bde66d324fda07f6c00002ba73fc74f88edbea8006668c161590ba82"
HUFI_PERMANENT_ADDRESS = "0x208E32c5C40923C5d0095df74aF8CD0c3e0d0898"
HUFI_PERMANENT_MESSAGE = "Permanent message to validate exact signature"
HUFI_PERMANENT_SIGNATURE = (
    "0x40549411f0ac5e8af988657d632e41294a1fdfdc00fc1f7a4607376e867b7c38"
    "715c009245d0aa7b94277fad7eaf7f96aa45ea9dcbae7275bce5a88d7ea6a7151b"
)


def test_hufi_signature_vector_is_signed_byte_for_byte() -> None:
    wallet = ServiceWallet(private_key=HUFI_PERMANENT_PRIVATE_KEY)
    assert wallet.address == HUFI_PERMANENT_ADDRESS
    assert wallet.sign_text(HUFI_PERMANENT_MESSAGE) == HUFI_PERMANENT_SIGNATURE


def test_hufi_signature_vector_recovers_the_exact_signer() -> None:
    signer = Account.recover_message(
        encode_defunct(text=HUFI_PERMANENT_MESSAGE), signature=HUFI_PERMANENT_SIGNATURE
    )
    assert signer == HUFI_PERMANENT_ADDRESS


@pytest.mark.django_db
def test_the_emulator_accepts_the_vector_wallets_login(oracle) -> None:
    # the same check as HuFi's verifySignature, through the login of the vector's wallet
    client = _client(oracle)
    pair = client.login(wallet=ServiceWallet(private_key="0x" + HUFI_PERMANENT_PRIVATE_KEY))
    assert pair.access_token and oracle.users[HUFI_PERMANENT_ADDRESS.lower()]

"""The Mixin Safe client against the loopback emulator: signing, pagination, errors on 202."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from orders.custody.base import (
    CustodyAuthFailed,
    CustodyError,
    CustodyInvalidRequest,
    CustodyNetworkError,
    CustodyNotFound,
    CustodyRateLimited,
    CustodyRejected,
    CustodySendUnsupported,
    CustodyTimeout,
    CustodyUnavailable,
    DepositAddressUnverified,
    InsufficientBalance,
    RequestIdConflict,
    TransactionStatus,
)
from orders.custody.mixin.auth import (
    MixinSession,
    load_session_private_key,
    request_signature,
    verify_token,
)
from orders.custody.mixin.client import MixinSafeCustody
from orders.custody.mixin.http import MixinHttp
from orders.memo import memo_encode_market_making_create, memo_to_hex
from standins.mixin.emulator import MixinSafeEmulator

BOT = str(uuid.uuid4())
SESSION = str(uuid.uuid4())
BTC = "c6d0c728-2624-429b-8e0d-d9d19b6592fa"
BTC_CHAIN = BTC
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def _server(key: Ed25519PrivateKey) -> Iterator[MixinSafeEmulator]:
    # One server per module: stopping one waits out the server's 0.5 s poll interval.
    emu = MixinSafeEmulator(user_id=BOT, session_id=SESSION, public_key=key.public_key())
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_server: MixinSafeEmulator) -> MixinSafeEmulator:
    _server.reset()
    _server.add_asset(asset_id=BTC, symbol="BTC", chain_id=BTC_CHAIN, price_usd="65000.5")
    return _server


def _client(emulator: MixinSafeEmulator, key: Ed25519PrivateKey, **kw: object) -> MixinSafeCustody:
    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    # The emulator signs deposit entries with its own key instead of the Safe network's.
    kw.setdefault("entry_public_keys", (emulator.entry_public_key,))
    return MixinSafeCustody(base_url=emulator.base_url, session=session, **kw)  # type: ignore[arg-type]


@pytest.fixture
def client(emulator: MixinSafeEmulator, key: Ed25519PrivateKey) -> Iterator[MixinSafeCustody]:
    c = _client(emulator, key)
    yield c
    c.close()


# ---------------------------------------------------------------------------- auth


def test_session_key_loads_from_hex_seed_and_base64url(key: Ed25519PrivateKey) -> None:
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    forms = (
        seed.hex(),
        (seed + pub).hex(),
        base64.urlsafe_b64encode(seed + pub).decode().rstrip("="),
    )
    for text in forms:
        loaded = load_session_private_key(text)
        assert loaded.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()) == seed
    with pytest.raises(ValueError):
        load_session_private_key("abcd")


def test_token_carries_mixin_claims_and_signs_method_uri_body(key: Ed25519PrivateKey) -> None:
    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    token = session.sign(method="POST", uri="/safe/keys?x=1", body=b'{"a":1}')
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    claims = verify_token(
        token, public_key=key.public_key(), method="POST", uri="/safe/keys?x=1", body=b'{"a":1}'
    )
    assert claims["uid"] == BOT and claims["sid"] == SESSION and claims["scp"] == "FULL"
    assert claims["sig"] == request_signature("POST", "/safe/keys?x=1", b'{"a":1}')
    assert isinstance(claims["exp"], int) and claims["exp"] > claims["iat"]  # type: ignore[operator]
    uuid.UUID(str(claims["jti"]))
    with pytest.raises(jwt.InvalidSignatureError):
        verify_token(
            token, public_key=key.public_key(), method="POST", uri="/safe/keys?x=1", body=b'{"a":2}'
        )


def test_signed_requests_are_accepted(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    info = client.asset(asset_id=BTC)
    assert (info.symbol, info.chain_id, info.precision, info.price_usd) == (
        "BTC",
        BTC_CHAIN,
        8,
        Decimal("65000.5"),
    )
    assert emulator.requests[-1].header("authorization").startswith("Bearer ")


def test_wrong_key_is_refused_as_final_auth_error(emulator: MixinSafeEmulator) -> None:
    stranger = _client(emulator, Ed25519PrivateKey.generate())
    with pytest.raises(CustodyAuthFailed) as info:
        stranger.asset(asset_id=BTC)
    assert info.value.code == 401 and not info.value.retryable


def test_tampered_query_is_refused(emulator: MixinSafeEmulator, key: Ed25519PrivateKey) -> None:
    import httpx

    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    token = session.sign(method="GET", uri=f"/safe/assets/{BTC}/fees?destination=a")
    # the same token replayed on another URI (destination changed in flight)
    response = httpx.get(
        f"{emulator.base_url}/safe/assets/{BTC}/fees?destination=b",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202
    assert response.json()["error"]["code"] == 401


def test_tampered_body_is_refused(emulator: MixinSafeEmulator, key: Ed25519PrivateKey) -> None:
    import httpx

    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    token = session.sign(method="GET", uri=f"/safe/assets/{BTC}", body=b"")
    ok = httpx.request(
        "GET",
        f"{emulator.base_url}/safe/assets/{BTC}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.json()["data"]["asset_id"] == BTC
    bad = httpx.request(
        "GET",
        f"{emulator.base_url}/safe/assets/{BTC}",
        headers={"Authorization": f"Bearer {token}"},
        content=b'{"extra":1}',
    )
    assert bad.status_code == 202 and bad.json()["error"]["code"] == 401


def test_expired_token_and_other_session_are_refused(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    import httpx

    uri = f"/safe/assets/{BTC}"
    old = MixinSession(user_id=BOT, session_id=SESSION, private_key=key).sign(
        method="GET", uri=uri, now=datetime.now(UTC) - timedelta(hours=2)
    )
    other = MixinSession(user_id=BOT, session_id=str(uuid.uuid4()), private_key=key).sign(
        method="GET", uri=uri
    )
    for token in (old, other, "not-a-jwt"):
        r = httpx.get(f"{emulator.base_url}{uri}", headers={"Authorization": f"Bearer {token}"})
        assert r.json()["error"]["code"] == 401
    assert httpx.get(f"{emulator.base_url}{uri}").json()["error"]["code"] == 401


# ---------------------------------------------------------------------------- snapshots


def test_snapshots_page_oldest_first_and_follow_the_cursor(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    memo = memo_encode_market_making_create(pair_id=str(uuid.uuid4()), order_id=str(uuid.uuid4()))
    # given five snapshots added out of order, two sharing one nanosecond timestamp
    stamps = [T0 + timedelta(seconds=s) for s in (3, 1, 4, 2)]
    rows = [
        emulator.add_snapshot(
            asset_id=BTC,
            amount=f"0.{i + 1}",
            created_at=t,
            opponent_id="u",
            memo_hex=memo_to_hex(memo),
        )
        for i, t in enumerate(stamps)
    ]
    rows.append(
        emulator.add_snapshot(
            asset_id=BTC, amount="-0.5", created_at="2025-01-01T00:00:04.000000000Z"
        )
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.snapshots_since(cursor=cursor, limit=2)
        pages += 1
        seen.extend(s.snapshot_id for s in page.items)
        cursor = page.next_cursor
        if not page.has_more:
            break
        assert pages < 10
    # then every snapshot arrives at least once, in time order, none skipped
    assert set(seen) == {r["snapshot_id"] for r in rows}
    first = client.snapshots_since(cursor=None, limit=10).items
    assert [s.created_at for s in first] == sorted(s.created_at for s in first)
    assert first[0].amount == Decimal("0.2") and first[0].opponent_id == "u"
    assert first[0].memo == memo_to_hex(memo)
    assert all(s.created_at.tzinfo is not None for s in first)
    # and the query sent was ASC with the offset and limit, signed as sent
    last = emulator.requests[-1]
    assert last.query["order"] == "ASC" and last.query["limit"] == "10"


def test_empty_page_keeps_the_cursor(client: MixinSafeCustody) -> None:
    page = client.snapshots_since(cursor="2025-01-01T00:00:00.000000000Z", limit=50)
    assert page.items == () and page.next_cursor == "2025-01-01T00:00:00.000000000Z"
    assert page.has_more is False


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "error_class", "retryable"),
    [
        (429, CustodyRateLimited, True),
        (500, CustodyUnavailable, True),
        (7000, CustodyUnavailable, True),
        (401, CustodyAuthFailed, False),
        (403, CustodyAuthFailed, False),
        (10002, CustodyInvalidRequest, False),
        (20117, InsufficientBalance, False),
        (12345, CustodyRejected, False),
    ],
)
def test_error_bodies_on_202_map_to_error_classes(
    client: MixinSafeCustody,
    emulator: MixinSafeEmulator,
    code: int,
    error_class: type[CustodyError],
    retryable: bool,
) -> None:
    emulator.fail_next(code=code, description="boom")
    with pytest.raises(error_class) as info:
        client.asset(asset_id=BTC)
    assert info.value.code == code
    assert info.value.retryable is retryable
    # and the next call is served normally
    assert client.asset(asset_id=BTC).asset_id == BTC


@pytest.mark.parametrize(
    ("status", "error_class"), [(503, CustodyUnavailable), (429, CustodyRateLimited)]
)
def test_http_errors_are_retryable(
    client: MixinSafeCustody,
    emulator: MixinSafeEmulator,
    status: int,
    error_class: type[CustodyError],
) -> None:
    emulator.fail_next(status=status)
    with pytest.raises(error_class) as info:
        client.snapshots_since(cursor=None, limit=10)
    assert info.value.retryable


def test_timeout_is_retryable(emulator: MixinSafeEmulator, key: Ed25519PrivateKey) -> None:
    slow = _client(emulator, key, timeout=0.2)
    emulator.fail_next(status=200, delay=0.6)
    with pytest.raises(CustodyTimeout) as info:
        slow.asset(asset_id=BTC)
    assert info.value.retryable


def test_unreachable_is_a_retryable_network_error(key: Ed25519PrivateKey) -> None:
    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    dead = MixinSafeCustody(base_url="http://127.0.0.1:9", session=session, timeout=1)
    with pytest.raises(CustodyNetworkError) as info:
        dead.asset(asset_id=BTC)
    assert info.value.retryable


# ---------------------------------------------------------------------------- reads


def test_withdrawal_fee_prefers_the_assets_own_fee(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    chain = str(uuid.uuid4())
    emulator.fees[BTC] = [
        {"type": "withdrawal_fee", "asset_id": chain, "amount": "0.01", "priority": "normal"},
        {"type": "withdrawal_fee", "asset_id": BTC, "amount": "0.0002", "priority": "normal"},
    ]
    fee = client.withdrawal_fee(asset_id=BTC, destination="bc1qdest")
    assert (fee.asset_id, fee.amount) == (BTC, Decimal("0.0002"))
    assert emulator.requests[-1].query == {"destination": "bc1qdest"}
    emulator.fees[BTC] = emulator.fees[BTC][:1]
    assert client.withdrawal_fee(asset_id=BTC, destination="x").asset_id == chain
    emulator.fees[BTC] = []
    with pytest.raises(CustodyRejected):
        client.withdrawal_fee(asset_id=BTC, destination="x")


def test_wallet_balance_sums_unspent_outputs_across_pages(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    other = str(uuid.uuid4())
    for _ in range(501):
        emulator.add_output(asset=BTC, amount="0.001")
    emulator.add_output(asset=other, amount="5")
    assert client.wallet_balance(asset_id=BTC) == Decimal("0.501")
    assert client.wallet_balance(asset_id=other) == Decimal("5")
    outputs_calls = [r for r in emulator.requests if r.path == "/safe/outputs"]
    assert len(outputs_calls) == 3  # two pages for BTC, one for the other asset


def test_unknown_asset_is_not_found(client: MixinSafeCustody) -> None:
    with pytest.raises(CustodyNotFound):
        client.asset(asset_id=str(uuid.uuid4()))


# ---------------------------------------------------------------------------- sends


def test_transaction_lookup_by_request_id(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    rid = str(uuid.uuid4())
    assert client.transaction(request_id=rid) is None
    emulator.transactions[rid] = {
        "type": "transaction_request",
        "request_id": rid,
        "transaction_hash": "ab" * 32,
        "asset_id": BTC,
        "amount": "0.5",
        "state": "signed",
    }
    tx = client.transaction(request_id=rid)
    assert tx is not None and tx.status is TransactionStatus.PENDING
    emulator.transactions[rid]["state"] = "spent"
    emulator.transactions[rid]["snapshot_id"] = "snap-1"
    tx = client.transaction(request_id=rid)
    assert tx is not None
    assert (tx.status, tx.transaction_hash, tx.snapshot_id, tx.amount) == (
        TransactionStatus.CONFIRMED,
        "ab" * 32,
        "snap-1",
        Decimal("0.5"),
    )


def test_send_without_a_prior_transaction_is_unsupported_and_posts_nothing(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    rid = str(uuid.uuid4())
    with pytest.raises(CustodySendUnsupported) as info:
        client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id="u")
    assert not info.value.retryable
    with pytest.raises(CustodySendUnsupported):
        client.withdraw(request_id=rid, asset_id=BTC, amount=Decimal("1"), destination="bc1q")
    assert all(r.method == "GET" for r in emulator.requests)


def test_send_with_a_known_request_id_returns_it_and_checks_content(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    rid = str(uuid.uuid4())
    emulator.transactions[rid] = {
        "request_id": rid,
        "asset_id": BTC,
        "amount": "1",
        "state": "spent",
        "transaction_hash": "cd" * 32,
    }
    tx = client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1.00"), opponent_id="u")
    assert tx.status is TransactionStatus.CONFIRMED
    with pytest.raises(RequestIdConflict):
        client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("2"), opponent_id="u")


# ---------------------------------------------------------------------------- deposits

ETH = "43d61dcd-e413-450d-80b8-101d5e903357"
USDT_ERC20 = "4d8c508b-91c5-375b-92b0-ee702ed2dac5"
EOS = "6cfe566e-4aad-470b-8c9a-2fd35b49c68d"


def _entry_calls(emulator: MixinSafeEmulator) -> list[object]:
    return [r.json() for r in emulator.requests if r.path == "/safe/deposit/entries"]


def test_deposit_address_is_the_bots_own_entry_on_the_assets_chain(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    # given USDT and ETH on the Ethereum chain, BTC on its own
    emulator.add_asset(asset_id=ETH, symbol="ETH", chain_id=ETH)
    emulator.add_asset(asset_id=USDT_ERC20, symbol="USDT", chain_id=ETH)
    # when the bot asks for its USDT deposit address
    address = client.deposit_address(asset_id=USDT_ERC20)
    # then it asked Mixin for the entry of members [bot], threshold 1, on the ETH chain
    assert _entry_calls(emulator) == [{"members": [BOT], "threshold": 1, "chain_id": ETH}]
    post = next(r for r in emulator.requests if r.path == "/safe/deposit/entries")
    assert post.method == "POST" and post.header("authorization").startswith("Bearer ")
    assert address.asset_id == USDT_ERC20 and address.tag is None
    assert address.destination.startswith("emu") and len(address.destination) == 43
    # and the address is stable, shared on one chain, different on another
    assert client.deposit_address(asset_id=USDT_ERC20) == address
    eth = client.deposit_address(asset_id=ETH)
    assert (eth.asset_id, eth.destination) == (ETH, address.destination)
    assert client.deposit_address(asset_id=BTC).destination != address.destination


def test_deposit_address_carries_the_tag_on_memo_chains(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    emulator.add_asset(asset_id=EOS, symbol="EOS", chain_id=EOS)
    emulator.tag_chains.add(EOS)
    address = client.deposit_address(asset_id=EOS)
    assert address.tag is not None and address.tag.isdigit()
    assert address.destination.startswith("emu")
    # the signature covers the tag: a changed tag is refused
    emulator.entry_overrides["tag"] = str(int(address.tag) + 1)
    with pytest.raises(DepositAddressUnverified):
        client.deposit_address(asset_id=EOS)


def test_deposit_address_prefers_the_primary_entry(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    emulator.secondary_entry_chains.add(BTC_CHAIN)
    address = client.deposit_address(asset_id=BTC)
    answered = [r for r in emulator.requests if r.path == "/safe/deposit/entries"]
    assert len(answered) == 1
    assert address.destination.startswith("emu") and not address.destination.startswith("emulegacy")


@pytest.mark.parametrize(
    "override",
    [
        {"destination": "emu-attacker"},
        {"signature": "00" * 64},
        {"signature": "not-hex"},
        {"chain_id": ETH},
        {"members": [BOT, str(uuid.uuid4())]},
        {"threshold": 2},
        {"destination": ""},
    ],
)
def test_deposit_entry_that_does_not_verify_is_refused_for_good(
    client: MixinSafeCustody, emulator: MixinSafeEmulator, override: dict[str, object]
) -> None:
    emulator.entry_overrides.update(override)
    with pytest.raises(DepositAddressUnverified) as info:
        client.deposit_address(asset_id=BTC)
    assert not info.value.retryable


def test_deposit_entry_needs_the_safe_networks_signature_by_default(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    # the production client trusts only Mixin's Safe keys, not the emulator's
    strict = _client(emulator, key, entry_public_keys=None)
    with pytest.raises(DepositAddressUnverified):
        strict.deposit_address(asset_id=BTC)
    strict.close()


def test_deposit_address_of_an_unknown_asset_is_not_found_and_asks_for_no_entry(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    with pytest.raises(CustodyNotFound):
        client.deposit_address(asset_id=str(uuid.uuid4()))
    assert _entry_calls(emulator) == []


def test_deposit_entries_endpoint_checks_signature_and_body(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    import httpx

    # a token signed for one body does not carry another
    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    body = b'{"members":["%s"],"threshold":1,"chain_id":"%s"}' % (BOT.encode(), BTC.encode())
    token = session.sign(method="POST", uri="/safe/deposit/entries", body=body)
    ok = httpx.post(
        f"{emulator.base_url}/safe/deposit/entries",
        headers={"Authorization": f"Bearer {token}"},
        content=body,
    )
    assert ok.json()["data"][0]["chain_id"] == BTC
    forged = body.replace(BOT.encode(), str(uuid.uuid4()).encode())
    bad = httpx.post(
        f"{emulator.base_url}/safe/deposit/entries",
        headers={"Authorization": f"Bearer {token}"},
        content=forged,
    )
    assert bad.status_code == 202 and bad.json()["error"]["code"] == 401
    # and a malformed request is Mixin's 10002, a final invalid-request error
    http = MixinHttp(base_url=emulator.base_url, session=session)
    for wrong in (
        {"members": [BOT], "threshold": 2, "chain_id": BTC},
        {"members": [], "threshold": 1, "chain_id": BTC},
        {"members": [BOT], "threshold": 1, "chain_id": str(uuid.uuid4())},
    ):
        with pytest.raises(CustodyInvalidRequest):
            http.request("POST", "/safe/deposit/entries", body=wrong)
    http.close()


def test_chain_deposit_snapshot_carries_the_chain_transaction_hash(
    client: MixinSafeCustody, emulator: MixinSafeEmulator
) -> None:
    chain_hash = "0x" + "ab" * 32
    deposit = emulator.add_snapshot(
        asset_id=BTC, amount="0.25", created_at=T0, deposit_hash=chain_hash
    )
    transfer = emulator.add_snapshot(
        asset_id=BTC, amount="0.5", created_at=T0 + timedelta(seconds=1), opponent_id="u"
    )
    items = client.snapshots_since(cursor=None, limit=10).items
    by_id = {s.snapshot_id: s for s in items}
    got = by_id[deposit["snapshot_id"]]
    # the exchange reports the chain hash, not Mixin's kernel transaction hash
    assert (got.transaction_hash, got.opponent_id, got.memo, got.amount) == (
        chain_hash,
        "",
        "",
        Decimal("0.25"),
    )
    assert deposit["transaction_hash"] != chain_hash
    assert by_id[transfer["snapshot_id"]].transaction_hash == transfer["transaction_hash"]

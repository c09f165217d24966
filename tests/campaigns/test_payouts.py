"""Reward observation on EthereumTesterProvider with the hand-assembled ERC-20 fixture."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.exceptions import HufiUnavailable
from campaigns.models import ChainScanCursor, Payout
from campaigns.services import campaign_payouts_scan
from campaigns.tasks import campaign_payouts_scan_task
from tests.campaigns.erc20_fixture import INITCODE_HEX, SUPPLY, Chain, build_initcode
from tests.campaigns.factories import campaign_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> Chain:
    return Chain()


def _scan(chain: Chain, **kwargs):  # type: ignore[no-untyped-def]
    return campaign_payouts_scan(
        chain_id=137, w3=chain.w3, wallet_address=chain.wallet, confirmations=2, **kwargs
    )


def test_fixture_bytecode_matches_its_assembly_listing() -> None:
    assert build_initcode().hex() == INITCODE_HEX


def test_fixture_token_keeps_balances_and_refuses_overdrafts(chain) -> None:
    chain.pay(chain.token, chain.escrow, chain.wallet, 5)
    assert chain.token.functions.balanceOf(chain.wallet).call() == 5
    assert chain.token.functions.balanceOf(chain.escrow).call() == SUPPLY - 5
    assert chain.token.functions.decimals().call() == 18
    with pytest.raises(Exception):  # noqa: B017 - eth-tester's revert type varies by backend
        chain.pay(chain.token, chain.wallet, chain.escrow, 6)


def test_a_payout_scanned_twice_is_recorded_once(chain) -> None:
    campaign = campaign_make(address=chain.escrow, fund_token=chain.token.address)
    chain.pay(chain.token, chain.escrow, chain.wallet, 1234 * 10**17)
    chain.mine(2)
    first = _scan(chain)
    second = _scan(chain, from_block=0)  # a full re-scan from genesis
    assert (first.recorded, second.recorded, second.duplicates) == (1, 0, 1)
    payout = Payout.objects.get()
    assert payout.campaign == campaign
    assert payout.amount == Decimal("123.4")
    assert payout.amount_base_units == str(1234 * 10**17)
    assert payout.to_address == chain.wallet and payout.from_address == chain.escrow
    assert payout.tx_hash.startswith("0x") and len(payout.tx_hash) == 66
    assert payout.block_time.utcoffset() is not None


def test_unconfirmed_transfers_wait_for_the_confirmation_depth(chain) -> None:
    campaign_make(address=chain.escrow, fund_token=chain.token.address)
    chain.pay(chain.token, chain.escrow, chain.wallet, 10)
    assert _scan(chain).recorded == 0  # head is the transfer's own block
    cursor = ChainScanCursor.objects.get()
    chain.mine(2)
    assert _scan(chain).recorded == 1
    assert ChainScanCursor.objects.get().next_block > cursor.next_block


def test_only_our_wallet_the_escrow_and_its_own_token_count(chain) -> None:
    campaign_make(address=chain.escrow, fund_token=chain.token.address)
    chain.pay(chain.token, chain.escrow, chain.stranger, 7)  # to someone else
    fake = chain.deploy(chain.stranger)  # a contract emitting Transfer-shaped events
    chain.pay(fake, chain.stranger, chain.wallet, 9)  # from a non-escrow
    chain.pay(chain.token, chain.escrow, chain.other_escrow, 100)
    chain.pay(chain.token, chain.other_escrow, chain.wallet, 100)  # not a known escrow
    chain.mine(2)
    assert _scan(chain).recorded == 0
    assert Payout.objects.count() == 0


def test_scan_walks_block_ranges_and_keeps_the_cursor(chain) -> None:
    campaign_make(address=chain.escrow, fund_token=chain.token.address)
    for amount in (1, 2, 3):
        chain.pay(chain.token, chain.escrow, chain.wallet, amount)
    chain.mine(2)
    result = _scan(chain, block_range=1, max_ranges=100)
    assert result.recorded == 3 and result.ranges > 3
    assert sorted(Payout.objects.values_list("amount_base_units", flat=True)) == ["1", "2", "3"]
    assert _scan(chain, block_range=1).recorded == 0  # cursor is past them; nothing re-read


def test_scan_task_twice_records_once(chain, settings, monkeypatch) -> None:
    campaign_make(address=chain.escrow, fund_token=chain.token.address)
    chain.pay(chain.token, chain.escrow, chain.wallet, 5)
    chain.mine(40)
    settings.HUFI_CHAIN_RPC_URL = "http://127.0.0.1:1"  # enables the task; web3 is swapped below
    monkeypatch.setattr("campaigns.services.payout.chain_web3", lambda **_: chain.w3)
    monkeypatch.setattr(
        "campaigns.services.payout.service_wallet",
        lambda: type("W", (), {"address": chain.wallet})(),
    )
    campaign_payouts_scan_task.apply()
    campaign_payouts_scan_task.apply()
    assert Payout.objects.count() == 1


def test_scan_without_an_rpc_url_is_a_clear_error_and_the_task_a_no_op(settings) -> None:
    settings.HUFI_CHAIN_RPC_URL = ""
    with pytest.raises(HufiUnavailable):
        campaign_payouts_scan()
    assert campaign_payouts_scan_task.apply().successful()
    assert ChainScanCursor.objects.count() == 0

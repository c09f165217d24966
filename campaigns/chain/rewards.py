"""ERC-20 `Transfer` logs from campaign escrows to our wallet, read with `eth_getLogs`.

The filter is narrow on purpose: the emitting contract must be one of the campaigns' fund
tokens (any contract can emit a `Transfer`-shaped event, only the token's own counts),
topic 1 (from) one of the escrows, topic 2 (to) our wallet. Callers pass closed block
ranges that are already buried under the confirmation depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address
from web3 import Web3

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
# Topic OR-lists stay short so no RPC provider refuses the filter.
SENDERS_PER_CALL = 50


@dataclass(frozen=True)
class TransferLog:
    token_address: str
    from_address: str
    to_address: str
    amount: int  # base units
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str


def address_topic(address: str) -> str:
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def _hex(value: bytes | str) -> str:
    text = value if isinstance(value, str) else value.hex()
    return text if text.startswith("0x") else "0x" + text


def _topic_address(topic: bytes | str) -> str:
    return to_checksum_address("0x" + _hex(topic)[-40:])


def transfer_logs(
    *,
    w3: Web3,
    tokens: Sequence[str],
    senders: Sequence[str],
    recipient: str,
    from_block: int,
    to_block: int,
) -> list[TransferLog]:
    if not tokens or not senders or to_block < from_block:
        return []
    found: list[TransferLog] = []
    token_list = [to_checksum_address(t) for t in tokens]
    for i in range(0, len(senders), SENDERS_PER_CALL):
        chunk = [address_topic(s) for s in senders[i : i + SENDERS_PER_CALL]]
        logs = w3.eth.get_logs(
            {
                "fromBlock": from_block,
                "toBlock": to_block,
                "address": token_list,
                "topics": [TRANSFER_TOPIC, chunk, address_topic(recipient)],
            }
        )
        for entry in logs:
            topics = entry["topics"]
            if entry.get("removed") or len(topics) != 3 or _hex(topics[0]) != TRANSFER_TOPIC:
                continue
            found.append(
                TransferLog(
                    token_address=to_checksum_address(entry["address"]),
                    from_address=_topic_address(topics[1]),
                    to_address=_topic_address(topics[2]),
                    amount=int(_hex(entry["data"]), 16),
                    tx_hash=_hex(entry["transactionHash"]).lower(),
                    log_index=int(entry["logIndex"]),
                    block_number=int(entry["blockNumber"]),
                    block_hash=_hex(entry["blockHash"]).lower(),
                )
            )
    found.sort(key=lambda t: (t.block_number, t.log_index))
    return found


def chain_web3(*, rpc_url: str, timeout: float) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))

"""A minimal ERC-20-shaped token for EthereumTesterProvider, hand-assembled EVM bytecode.

Provenance: no Solidity compiler is available offline, so this contract is written here in
EVM assembly (listing below) and assembled by the 30-line assembler in this file; the hex
constant is checked against the listing by a test, so the two cannot drift.

What it does (enough for reward scanning, not a production token):
- constructor(uint256 supply): balance[msg.sender] = supply; emits Transfer(0, sender, supply).
- transfer(address to, uint256 amount) `0xa9059cbb`: reverts if balance[caller] < amount,
  moves the amount, emits the standard `Transfer(address indexed, address indexed, uint256)`
  (LOG3, topic0 = keccak("Transfer(address,address,uint256)")), returns true.
- balanceOf(address) `0x70a08231`, decimals() `0x313ce567` (18).
Balances live at storage slot = the holder's address (no keccak mapping: simpler, still
one slot per holder).
"""

from __future__ import annotations

from typing import Any

from eth_typing import HexStr
from web3 import EthereumTesterProvider, Web3

TRANSFER_TOPIC = 0xDDF252AD1BE2C89B69C2B068FC378DAA952BA7F163C4A11628F55A4DF523B3EF

_OPCODES = {
    "STOP": 0x00,
    "ADD": 0x01,
    "SUB": 0x03,
    "LT": 0x10,
    "EQ": 0x14,
    "SHR": 0x1C,
    "CALLER": 0x33,
    "CALLDATALOAD": 0x35,
    "CODESIZE": 0x38,
    "CODECOPY": 0x39,
    "MLOAD": 0x51,
    "MSTORE": 0x52,
    "SLOAD": 0x54,
    "SSTORE": 0x55,
    "JUMPI": 0x57,
    "JUMPDEST": 0x5B,
    "DUP1": 0x80,
    "DUP2": 0x81,
    "DUP3": 0x82,
    "SWAP1": 0x90,
    "LOG3": 0xA3,
    "RETURN": 0xF3,
    "REVERT": 0xFD,
}

# (op,) | ("PUSHn", value or ":label") | (":label",)
Listing = list[tuple[Any, ...]]

RUNTIME: Listing = [
    ("PUSH1", 0x00), ("CALLDATALOAD",), ("PUSH1", 0xE0), ("SHR",),  # selector
    ("DUP1",), ("PUSH4", 0xA9059CBB), ("EQ",), ("PUSH2", ":transfer"), ("JUMPI",),
    ("DUP1",), ("PUSH4", 0x70A08231), ("EQ",), ("PUSH2", ":balanceOf"), ("JUMPI",),
    ("DUP1",), ("PUSH4", 0x313CE567), ("EQ",), ("PUSH2", ":decimals"), ("JUMPI",),
    (":fail",), ("JUMPDEST",), ("PUSH1", 0), ("DUP1",), ("REVERT",),
    (":balanceOf",), ("JUMPDEST",),
    ("PUSH1", 0x04), ("CALLDATALOAD",), ("SLOAD",),
    ("PUSH1", 0), ("MSTORE",), ("PUSH1", 0x20), ("PUSH1", 0), ("RETURN",),
    (":decimals",), ("JUMPDEST",),
    ("PUSH1", 18), ("PUSH1", 0), ("MSTORE",), ("PUSH1", 0x20), ("PUSH1", 0), ("RETURN",),
    (":transfer",), ("JUMPDEST",),
    ("PUSH1", 0x24), ("CALLDATALOAD",),  # amount
    ("CALLER",), ("SLOAD",),  # balance[caller], amount
    ("DUP2",), ("DUP2",), ("LT",), ("PUSH2", ":fail"), ("JUMPI",),  # balance < amount → revert
    ("DUP2",), ("SWAP1",), ("SUB",), ("CALLER",), ("SSTORE",),  # balance[caller] -= amount
    ("PUSH1", 0x04), ("CALLDATALOAD",), ("DUP1",), ("SLOAD",),  # balance[to], to, amount
    ("DUP3",), ("ADD",), ("SWAP1",), ("SSTORE",),  # balance[to] += amount
    ("PUSH1", 0), ("MSTORE",),  # mem[0] = amount
    ("PUSH1", 0x04), ("CALLDATALOAD",), ("CALLER",), ("PUSH32", TRANSFER_TOPIC),
    ("PUSH1", 0x20), ("PUSH1", 0), ("LOG3",),  # Transfer(caller, to, amount)
    ("PUSH1", 1), ("PUSH1", 0), ("MSTORE",), ("PUSH1", 0x20), ("PUSH1", 0), ("RETURN",),
]  # fmt: skip


def _init(runtime_length: int, runtime_offset: int) -> Listing:
    return [
        ("PUSH1", 0x20), ("PUSH1", 0x20), ("CODESIZE",), ("SUB",), ("PUSH1", 0), ("CODECOPY",),
        ("PUSH1", 0), ("MLOAD",),  # supply (the constructor argument appended to the code)
        ("DUP1",), ("CALLER",), ("SSTORE",),  # balance[sender] = supply
        ("PUSH1", 0), ("MSTORE",),
        ("CALLER",), ("PUSH1", 0), ("PUSH32", TRANSFER_TOPIC),
        ("PUSH1", 0x20), ("PUSH1", 0), ("LOG3",),  # Transfer(0, sender, supply)
        ("PUSH2", runtime_length), ("PUSH2", runtime_offset), ("PUSH1", 0), ("CODECOPY",),
        ("PUSH2", runtime_length), ("PUSH1", 0), ("RETURN",),
    ]  # fmt: skip


def assemble(listing: Listing) -> bytes:
    labels: dict[str, int] = {}
    pc = 0
    for item in listing:  # pass 1: label offsets
        op = item[0]
        if op.startswith(":"):
            labels[op] = pc
        elif op.startswith("PUSH"):
            pc += 1 + int(op[4:])
        else:
            pc += 1
    out = bytearray()
    for item in listing:  # pass 2: bytes
        op = item[0]
        if op.startswith(":"):
            continue
        if op.startswith("PUSH"):
            size = int(op[4:])
            value = labels[item[1]] if isinstance(item[1], str) else item[1]
            out.append(0x5F + size)
            out += value.to_bytes(size, "big")
        else:
            out.append(_OPCODES[op])
    return bytes(out)


def build_initcode() -> bytes:
    runtime = assemble(RUNTIME)
    init_length = len(assemble(_init(0, 0)))  # fixed width: PUSH2 operands
    return assemble(_init(len(runtime), init_length)) + runtime


# The assembled initcode (constructor + runtime); test_erc20_fixture checks it equals the listing.
INITCODE_HEX = (
    "6020602038036000396000518033556000523360007fddf252ad1be2c89b69c2b068fc378daa952b"
    "a7f163c4a11628f55a4df523b3ef60206000a361009661004a6000396100966000f360003560e01c"
    "8063a9059cbb1461004457806370a082311461002c578063313ce56714610039575b600080fd5b60"
    "04355460005260206000f35b601260005260206000f35b6024353354818110610027578190033355"
    "600435805482019055600052600435337fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a1"
    "1628f55a4df523b3ef60206000a3600160005260206000f3"
)

ABI = [
    {
        "type": "function",
        "name": "transfer",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "decimals",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
    {
        "type": "event",
        "name": "Transfer",
        "anonymous": False,
        "inputs": [
            {"name": "from", "type": "address", "indexed": True},
            {"name": "to", "type": "address", "indexed": True},
            {"name": "value", "type": "uint256", "indexed": False},
        ],
    },
]


SUPPLY = 10**6 * 10**18


class Chain:
    """An in-memory chain with the token deployed by the escrow; named accounts."""

    def __init__(self) -> None:
        self.w3 = Web3(EthereumTesterProvider())
        accounts: list[str] = list(self.w3.eth.accounts)
        self.escrow, self.wallet, self.stranger, self.other_escrow = accounts[:4]
        self.token = self.deploy(self.escrow)

    def deploy(self, owner: str):  # type: ignore[no-untyped-def]
        tx = self.w3.eth.send_transaction(
            {"from": owner, "data": HexStr("0x" + INITCODE_HEX + SUPPLY.to_bytes(32, "big").hex())}
        )
        address = self.w3.eth.get_transaction_receipt(tx)["contractAddress"]
        return self.w3.eth.contract(address=address, abi=ABI)

    def pay(self, token, sender: str, to: str, amount: int) -> None:  # type: ignore[no-untyped-def]
        token.functions.transfer(to, amount).transact({"from": sender})

    def mine(self, blocks: int) -> None:
        self.w3.testing.mine(blocks)  # type: ignore[attr-defined]

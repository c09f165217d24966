"""The service wallet: EIP-191 login signatures and sealing of the oracle tokens at rest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

import nacl.secret
import nacl.utils
from eth_account import Account
from eth_account.messages import encode_defunct


def nonce_message(nonce: str) -> str:
    """Exactly the text HuFi verifies: `{"nonce":"<nonce>"}` (JSON.stringify, no spaces)."""
    return json.dumps({"nonce": nonce}, separators=(",", ":"))


@dataclass(frozen=True)
class ServiceWallet:
    private_key: str

    @cached_property
    def address(self) -> str:
        return str(Account.from_key(self.private_key).address)

    def sign_text(self, text: str) -> str:
        """EIP-191 personal message signature, 0x + 130 hex (ethers' `wallet.signMessage`)."""
        signed = Account.sign_message(encode_defunct(text=text), private_key=self.private_key)
        return "0x" + bytes(signed.signature).hex().removeprefix("0x")

    def sign_nonce(self, nonce: str) -> str:
        return self.sign_text(nonce_message(nonce))

    @cached_property
    def _box(self) -> nacl.secret.SecretBox:
        # A key of its own for sealing, derived from (never equal to) the wallet key.
        key = hashlib.blake2b(
            bytes.fromhex(self.private_key.removeprefix("0x")),
            digest_size=nacl.secret.SecretBox.KEY_SIZE,
            person=b"mrm-hufi-tokens",
        ).digest()
        return nacl.secret.SecretBox(key)

    def seal(self, text: str) -> str:
        if not text:
            return ""
        return bytes(self._box.encrypt(text.encode())).hex()

    def unseal(self, sealed: str) -> str:
        if not sealed:
            return ""
        return self._box.decrypt(bytes.fromhex(sealed)).decode()

"""The Mixin projects' own published test vectors, run against our kernel codec.

Copied as data (hex strings and expected values) from, with the test each comes from:
- MixinNetwork/mixin `common/encoding_test.go` `TestEncoding`: the asset ids of XIN, ETH and
  BTC (SHA3-256 of the asset id), a 7-input withdrawal transaction that decodes and
  re-encodes byte for byte, and a node-accept transaction's 64-byte extra;
- MixinNetwork/mixin `common/transaction_test.go` `TestTransactionReferences`: the payload
  hash (blake3 of the unsigned encoding) after each step of building a transaction, and
  the 740-byte transaction it ends as;
- MixinNetwork/bot-api-nodejs-client `test/mixin/safe.test.ts` "Test for safe transaction
  unmarshal" (a 2-of-11 multisig transfer) and `test/mixin/utils.test.ts` "tests for
  hashMembers". (Its "safe transaction signature" vector is in test_mixin_kernel.py.)
"""

from __future__ import annotations

from decimal import Decimal

from orders.custody.mixin.client import members_hash
from orders.custody.mixin.kernel import (
    OUTPUT_TYPE_SCRIPT,
    OUTPUT_TYPE_WITHDRAWAL_SUBMIT,
    Input,
    Output,
    Transaction,
    decode_transaction,
    encode_transaction,
    kernel_asset_id,
    threshold_script,
    transaction_hash,
)
from standins.mixin.emulator import kernel_asset

XIN = "c94ac88f-4671-3976-b60a-09064f1811e8"
ETH = "43d61dcd-e413-450d-80b8-101d5e903357"
BTC = "c6d0c728-2624-429b-8e0d-d9d19b6592fa"

# TestEncoding, first raw: a withdrawal (0xa1) output and a script output, 7 inputs.
GO_WITHDRAWAL_RAW = (
    "777700052dc0ab2919c77daea5cfc0b37a2beea02142e8fdc4f60409fd40b256bb13ea290007eff98bbf1fd4"
    "632380b3f81bec40b54ceaa5d10e181b2c9e141da28b3d13c5460001000000000000a348712f7881be7a7bec"
    "9935d46578fd612a96e1cd0ac0f83520e2c0db0e98e2000100000000000030ad61194c5c3c19c0397d3ae98f"
    "b25ea4ead720fd49a86f2ab7b6db888ea61b00010000000000005981c0b5df48c066b4b3858ea949990c82cc"
    "27e030127d9eda70ff57fe9d9feb0001000000000000ad2fccec444b26794a13fb52f71348308de20f72a6dc"
    "4544195cef79f60910660001000000000000c817d2cac077b5ab21af4166f7451d9678a836db3f709b2903a9"
    "71bf763b7f890001000000000000a4df50c83ed97db449ec856d660f4b0ef1f888bf2824800cf1bcf71418b3"
    "2e580001000000000000000200a100060417bce6c80000000000000000000000000000000000000000000000"
    "00000000000000000000000000007777006b344b45397734746e65417472324257736d687769364562423143"
    "6257716779424248326f4367397677676e39346e5a5a4d6379694c7655347a596b6277703277754e4a595651"
    "556b77795a46664e3846726238345178556770673174656e574c61647834554552583270480000000000053b"
    "e744043b00012f4d6a6fd5720be42930533d2efd2f5659f6179ea0e677edad599ef1dc6293b8ae2ebb91eac8"
    "ceb937f92c7dd5ffdb577b6506c6fbe0f2c7baf35d399dbc7bab0003fffe01000000000000001581a154c410"
    "7e519774e8784192b35a93ef68fff6ee0000"
)

# TestEncoding, second raw: one 0xa4 (node accept) output and a 64-byte extra.
GO_NODE_ACCEPT_RAW = (
    "77770005a99c2e0e2b1da4d648755ef19bd95139acbbe6564cfb06dec7cd34931ca72cdc0001c19d51beba90"
    "c20ff538a32ab262ce6e32e59f03b5bfe6d8e6fe2b2544ba43b60000000000000000000100a40005e8d4a510"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "40cf0926f381bb17668ef4b4eab6243d4b437ae6d2372623b74f41a5597277495556515cbc346d8b639386c1"
    "e22239d032bb6f09f8b6f2ea5a3a19b41fe0bdd1de0000"
)

# TestTransactionReferences `PM`: 2 genesis inputs, 2 outputs (one to 16 accounts).
GO_REFERENCES_PM = (
    "77770005a99c2e0e2b1da4d648755ef19bd95139acbbe6564cfb06dec7cd34931ca72cdc0002000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000001000000000000000200000005e8d4a510000000c6"
    "473159e19ed185b373e935081774e0c133b9416abdff319667187a71dff53e0003fffe0d000000000005e8d4"
    "a5100000101a4df331aa9178f1a7f8d8627a6233090bfc2f1c154e4ce052c6e100cd6d511ed069468da7057e"
    "644259c5f82cea4f32b481844aff68409a2823e6a2e7d84ae59402e07b4e453035787231b6b9b5c53498573e"
    "22e7f0d1440741c95e4c51b96c81ef7ed772d8f864f4a0250478fbc3c2927b7dd5dc364d6ad49156eccdde90"
    "2c139921b524d87fafa4e671e6f8d9a9b3bbb405573eef90df4ea9d966c1a81b2d99e4228582ee9001653cfb"
    "2d7eb61dfe14d243e0280db8ffe2741a89190f532fbbbbe72344c65127e697a246c5f70804342195b92835af"
    "a9d8edf7498ba083e407a579b53eb7ce1ee7e97f826e6b463e7ad160cb97c56b6166d125ffd8b6f021d3f4a6"
    "136aaddce4bdbfddae92f702c56ccb94edb2f6d93615887f0806900a65c0f230e2e2ae9358beb7e7299cf8a0"
    "0bc2fd2038540f818db6e16dd4abf4dadce64dd745fe693b2ee41e4ff1b7fccff3f50819a7d41e76cb04fe10"
    "65059f3b2068a5f51863e976f65e7b2665045e3e8919b96cae80cbbbf9d33009094b5091dde31937cf61a9d7"
    "393c6d4b01f068725f233eb564bb00767138b1c83bd09cf148832f8e5303a3249cee3c707607eb8ea030c0b9"
    "2777e3ed729fb2aee4c4298bd6dcd0d1c0eff1a06c68bf6459f35c8a047130b631b22bff252edeb03310cf7f"
    "2121f21afb2d299f7febc6a3eaa79e5e19bd3a5c299817b50262289e2bc382f173c6473159e19ed185b373e9"
    "35081774e0c133b9416abdff319667187a71dff53e0003fffe0d00000000000000000000"
)

# safe.test.ts "Test for safe transaction unmarshal".
NODE_MULTISIG_RAW = (
    "77770005f3bed3e0f6738938c8988eb8853c5647baa263901deb217ee53586d5de831f3b0001b5ecd453883a"
    "ebc2a0dfe6c3f005c06c59156b70c532c363c7dff6ca4329d0ed00000000000000000002000000022710000b"
    "3720de3095a80e5778c266471193a9404cbbf876f7e66c6c5f9126cb4624f2b097bdc4ccdcaf213abe138aea"
    "f7e65df0a207be975ebe30ab136b128676989a235d877764ed21f4b96d66f81e4ceb0896d81aee81f74065a0"
    "8e80a0b09d48ebadb10ce899bd793a9741cab5d7a3e4385fd920244847de1a7af86a40db7d584bbea5af14af"
    "ffbc0cd3014c6f1370df394780966f440dca4acbdcf4102defe325972ebe24a114a331d5fff0d19ac4340801"
    "f7cd0d39c46ff71c801ae774a8d91f36051312e4daf0b6a32f4b286de370db381ccb7a30c8fb10a74fe0b883"
    "88b3ee8791b828cf0ee8ff9a5ab96cd6a4332a6c758339875026af7ba41670ea50e5930d746e35b89fc88259"
    "d46a45f5ab5b6a6aaed73d78a3711d633e23a017e922c6471ac457e96bee19665a179c820897aab4c4ed16b7"
    "9da142dc6458b7ff66094a803c86daadbc99dbfc3d218fb85fefdc8f0e9818057965819598a892b647a00f65"
    "d0daa2de9d547edd3a300a3c366e4cbdc3d38b841b84bba748e9d788e0f9f8e90003fffe0200000000000405"
    "f5b9f0000b6886794f8ad4b99fe21eb6b80342bdabb5789e124d860831acb7ba70968ebefd9492fbec799334"
    "9bdb64fa1e9df89913eac2121cd24894f609305af12ee89913b268eed77794fa0caf1391c7c2dc9eda9d94fd"
    "a92d75b66f09d41133057e92e2fb645be1cd74429d65cc082aaaaa7803ba7192daf5a77361b35b346293da3e"
    "b24449ab5ec302fa2279ccb27b2f25269daff0dbd3d377d729dfe480ff63b0fee84b7392595e645d58f1a1f2"
    "8781bd05a781305263a81afca8e599f1e7c45458d5c6bf5b4c81bc4872de98a2099364f3013119f715c120ad"
    "3fb663abdd9e25fa60cce3eb4f9d6546b18fff2fd145860ed8819f7b75edb8e3a8542942e078541de3125ceb"
    "37b571249808e18f10fd53ed8abd6eb438ab4ec98f57766b0e3e74834e4f9121fab9e57e3ad4dd8eb73e017e"
    "aaf142d2a5d4beddafe8bc5198a90efe91e769a91c5af97d7972bd38a984f66b060dd5a24c8fc8d2ce9969fe"
    "689d258916c295b730f477c2a605e9044da395575a0d9f395c890f1d70a40be812a04922710003fffe020000"
    "0000000000136d756c7469736967732d746573742d6d656d6f0000"
)


def test_go_asset_ids_are_sha3_256_of_the_asset_id() -> None:
    # TestEncoding: XINAssetId, EthereumAssetId, BitcoinAssetId
    assert kernel_asset_id(XIN).hex() == (
        "a99c2e0e2b1da4d648755ef19bd95139acbbe6564cfb06dec7cd34931ca72cdc"
    )
    assert kernel_asset_id(ETH).hex() == (
        "8dd50817c082cdcdd6f167514928767a4b52426997bd6d4930eca101c5ff8a27"
    )
    assert kernel_asset_id(BTC).hex() == (
        "fe6b7788944d328778f98e3e81588215b5a07de4f9a4a7de4db4535b404e65db"
    )
    # and the emulator derives them the same way
    assert kernel_asset(XIN) == kernel_asset_id(XIN).hex()


def test_go_withdrawal_transaction_decodes_and_re_encodes_byte_for_byte() -> None:
    raw = bytes.fromhex(GO_WITHDRAWAL_RAW)
    tx = decode_transaction(raw)
    withdrawal = tx.outputs[0].withdrawal
    assert tx.outputs[0].type == OUTPUT_TYPE_WITHDRAWAL_SUBMIT and withdrawal is not None
    assert withdrawal.address == (
        "4KE9w4tneAtr2BWsmhwi6EbB1CbWqgyBBH2oCg9vwgn94nZZMcyiLvU4zYkbwp2wuNJYVQUkwyZFfN8Frb84QxU"
        "gpg1tenWLadx4UERX2pH"
    )
    assert withdrawal.tag == ""
    assert len(tx.inputs) == 7
    assert encode_transaction(tx) == raw


def test_go_node_accept_transaction_keeps_its_extra() -> None:
    tx = decode_transaction(bytes.fromhex(GO_NODE_ACCEPT_RAW))
    assert tx.extra.hex() == (
        "cf0926f381bb17668ef4b4eab6243d4b437ae6d2372623b74f41a5597277495556515cbc346d8b639386c1e"
        "22239d032bb6f09f8b6f2ea5a3a19b41fe0bdd1de"
    )
    assert tx.asset == kernel_asset_id(XIN)
    assert encode_transaction(tx).hex() == GO_NODE_ACCEPT_RAW


def test_go_payload_hashes_step_by_step() -> None:
    # TestTransactionReferences: NewTransactionV5(XINAssetId), then AddInput(genesis, 0),
    # AddInput(genesis, 1), a script output without keys; PayloadHash after each.
    genesis = bytes(32)
    steps = [
        Transaction(asset=kernel_asset_id(XIN), inputs=(), outputs=()),
        Transaction(asset=kernel_asset_id(XIN), inputs=(Input(genesis, 0),), outputs=()),
        Transaction(
            asset=kernel_asset_id(XIN), inputs=(Input(genesis, 0), Input(genesis, 1)), outputs=()
        ),
    ]
    expected = [
        "814d45237cf84feb5be8cb60a3f985a019169a01a6d05924b74aa3493da02dd6",
        "826aedc5f8ba217c399bfc798f2d4b7a169b7c9714397b56e32e609b9f5e0a6d",
        "61f00c8f14383c0a174543f2ba775f10ca38c91cf9f6c0b28de9bb9579fc2c51",
    ]
    assert [transaction_hash(tx).hex() for tx in steps] == expected
    full = decode_transaction(bytes.fromhex(GO_REFERENCES_PM))
    # The Go test's mask is NewKeyFromSeed(0x01 × 64).Public(): read from the vector itself.
    first_output = full.outputs[0]
    assert first_output.keys == () and first_output.script == threshold_script(13)
    with_output = Transaction(
        asset=kernel_asset_id(XIN),
        inputs=steps[2].inputs,
        outputs=(
            Output(
                type=OUTPUT_TYPE_SCRIPT,
                amount=Decimal(10000),
                mask=first_output.mask,
                script=threshold_script(13),
            ),
        ),
    )
    assert transaction_hash(with_output).hex() == (
        "4edf7bc13dc688d6ca45c9a6fe577a60e1f21e8474a324c06b7f94d8485681e7"
    )
    assert transaction_hash(full).hex() == (
        "f6f8c5fd92dfd697efa4903d70038577391514fd6ad2dfc4984ca072540b5612"
    )


def test_go_references_transaction_round_trips_at_740_bytes() -> None:
    raw = bytes.fromhex(GO_REFERENCES_PM)
    assert len(raw) == 740
    tx = decode_transaction(raw)
    assert len(tx.outputs[1].keys) == 16 and tx.outputs[1].amount == Decimal(10000)
    assert encode_transaction(tx) == raw


def test_node_multisig_transaction_unmarshals_as_the_sdk_reads_it() -> None:
    tx = decode_transaction(bytes.fromhex(NODE_MULTISIG_RAW))
    assert tx.asset.hex() == "f3bed3e0f6738938c8988eb8853c5647baa263901deb217ee53586d5de831f3b"
    assert tx.extra == b"multisigs-test-memo"
    assert tx.inputs == (
        Input(bytes.fromhex("b5ecd453883aebc2a0dfe6c3f005c06c59156b70c532c363c7dff6ca4329d0ed"), 0),
    )
    assert [o.type for o in tx.outputs] == [0, 0]
    assert [o.amount for o in tx.outputs] == [Decimal("0.0001"), Decimal("0.9999")]
    assert [o.script.hex() for o in tx.outputs] == ["fffe02", "fffe02"]
    assert tx.outputs[0].mask.hex() == (
        "d0daa2de9d547edd3a300a3c366e4cbdc3d38b841b84bba748e9d788e0f9f8e9"
    )
    assert tx.outputs[1].mask.hex() == (
        "c295b730f477c2a605e9044da395575a0d9f395c890f1d70a40be812a0492271"
    )
    assert [len(o.keys) for o in tx.outputs] == [11, 11]
    assert tx.outputs[0].keys[0].hex() == (
        "3720de3095a80e5778c266471193a9404cbbf876f7e66c6c5f9126cb4624f2b0"
    )
    assert tx.outputs[1].keys[-1].hex() == (
        "e769a91c5af97d7972bd38a984f66b060dd5a24c8fc8d2ce9969fe689d258916"
    )
    assert encode_transaction(tx).hex() == NODE_MULTISIG_RAW


def test_node_hash_members_vectors() -> None:
    # utils.test.ts "tests for hashMembers" (sorted, so the order of ids does not matter)
    assert members_hash(["965e5c6e-434c-3fa9-b780-c50f43cd955c"]) == (
        "b9f49cf777dc4d03bc54cd1367eebca319f8603ea1ce18910d09e2c540c630d8"
    )
    ids = ["965e5c6e-434c-3fa9-b780-c50f43cd955c", "d1e9ec7e-199d-4578-91a0-a69d9a7ba048"]
    expected = "6064ec68a229a7d2fe2be652d11477f21705a742e08b75564fd085650f1deaeb"
    assert members_hash(ids) == expected
    assert members_hash(list(reversed(ids))) == expected

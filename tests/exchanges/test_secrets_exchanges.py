"""Sealed API keys: the key pair, opening seals, encryption at rest with rotation, and no leaks."""

from __future__ import annotations

import base64
import logging

import nacl.public
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from exchanges import secrets, services
from exchanges.exceptions import SealedSecretInvalid, SecretDecryptionFailed
from exchanges.models import VenueAccount
from mrmarket.enums import AuditOutcome
from mrmarket.models import AuditEvent
from tests.exchanges.factories import ExchangeFactory

SECRET = "s3cr3t-Value-that-must-never-leak-9f8e7d"
API_KEY = "AKIA-public-key-identifier-1234"
KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = bytes(range(1, 33)).hex()


# ---------------------------------------------------------------------------- unit


def test_key_parsing_accepts_hex_and_both_base64_alphabets() -> None:
    raw = bytes(range(200, 232))
    assert secrets.key_bytes_parse(raw.hex(), name="K") == raw
    assert secrets.key_bytes_parse(base64.b64encode(raw).decode(), name="K") == raw
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert secrets.key_bytes_parse(urlsafe, name="K") == raw


@pytest.mark.parametrize("bad", ["", "short", base64.b64encode(b"x" * 31).decode(), "zz" * 32])
def test_key_parsing_refuses_anything_but_32_bytes(bad: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        secrets.key_bytes_parse(bad, name="K")


def test_a_sealed_secret_opens_with_the_server_key() -> None:
    sealed = secrets.seal_for_tests(plaintext=SECRET)
    assert secrets.sealed_open(sealed_b64=sealed) == SECRET


def test_the_public_key_is_the_private_keys_box_public_key() -> None:
    public = base64.b64decode(secrets.server_public_key_b64())
    assert len(public) == 32
    assert public == bytes(secrets.server_private_key().public_key)


@pytest.mark.parametrize(
    ("sealed", "reason"),
    [
        ("not base64 !!", "not valid base64"),
        (base64.b64encode(b"x" * 40).decode(), "too short"),
        (base64.b64encode(b"x" * 80).decode(), "could not be opened"),
    ],
)
def test_a_bad_seal_is_a_clear_validation_error(sealed: str, reason: str) -> None:
    with pytest.raises(SealedSecretInvalid, match=reason) as info:
        secrets.sealed_open(sealed_b64=sealed)
    assert info.value.status_code == 400


def test_a_seal_to_another_key_does_not_open() -> None:
    other = nacl.public.PrivateKey.generate().public_key
    sealed = secrets.seal_for_tests(
        plaintext=SECRET, public_key_b64=base64.b64encode(bytes(other)).decode()
    )
    with pytest.raises(SealedSecretInvalid, match="could not be opened"):
        secrets.sealed_open(sealed_b64=sealed)


def test_ciphertext_is_versioned_randomised_and_round_trips() -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_A, FIELD_ENCRYPTION_OLD_KEYS=[]):
        one, two = secrets.secret_encrypt(SECRET), secrets.secret_encrypt(SECRET)
        assert one != two  # fresh nonce each time
        version, kid, payload = one.split(":", 2)
        assert version == "v1" and kid == secrets.current_key_id() and len(kid) == 8
        assert SECRET not in one and SECRET.encode() not in base64.b64decode(payload)
        assert secrets.secret_decrypt(one) == SECRET
        assert secrets.secret_encrypt("") == "" and secrets.secret_decrypt("") == ""


def test_a_tampered_ciphertext_fails_authentication() -> None:
    token = secrets.secret_encrypt(SECRET)
    head, payload = token.rsplit(":", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(SecretDecryptionFailed, match="authentication"):
        secrets.secret_decrypt(f"{head}:{base64.b64encode(bytes(raw)).decode()}")


def test_rotation_old_keys_still_decrypt_and_unknown_keys_fail_loudly() -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_A, FIELD_ENCRYPTION_OLD_KEYS=[]):
        old = secrets.secret_encrypt(SECRET)
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_B, FIELD_ENCRYPTION_OLD_KEYS=[KEY_A]):
        assert secrets.secret_decrypt(old) == SECRET
        assert secrets.secret_key_id(secrets.secret_encrypt(SECRET)) != secrets.secret_key_id(old)
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_B, FIELD_ENCRYPTION_OLD_KEYS=[]):
        with pytest.raises(SecretDecryptionFailed, match="no configured FIELD_ENCRYPTION_KEY"):
            secrets.secret_decrypt(old)


@pytest.mark.django_db
def test_rotate_service_re_encrypts_every_account_under_the_current_key() -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_A, FIELD_ENCRYPTION_OLD_KEYS=[]):
        account = services.venue_account_create(
            exchange=ExchangeFactory.create(),
            name="main",
            api_key=API_KEY,
            api_secret=SECRET,
            api_passphrase="pass-phrase",
            actor=None,
        )
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_B, FIELD_ENCRYPTION_OLD_KEYS=[KEY_A]):
        assert services.venue_secrets_rotate() == 1
        assert services.venue_secrets_rotate() == 0  # running it twice changes nothing more
        account.refresh_from_db()
        for field in ("api_key_encrypted", "api_secret_encrypted", "api_passphrase_encrypted"):
            assert secrets.secret_key_id(getattr(account, field)) == secrets.current_key_id()
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_B, FIELD_ENCRYPTION_OLD_KEYS=[]):
        creds = services.venue_credentials_get(account=account)
        assert (creds.api_key, creds.secret, creds.password) == (API_KEY, SECRET, "pass-phrase")


# ---------------------------------------------------------------------------- API


@pytest.mark.django_db
def test_key_pair_endpoint_gives_the_base64_box_public_key(admin_api) -> None:  # type: ignore[no-untyped-def]
    response = admin_api.get("/admin/exchanges/key-pair")
    assert response.status_code == 200
    assert response.json() == {
        "publicKey": secrets.server_public_key_b64(),
        "encoding": "base64",
        "algorithm": "crypto_box_seal",
    }


@pytest.mark.django_db
def test_key_endpoints_need_an_admin_jwt(api, user_api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/admin/exchanges/key-pair").status_code == 401
    assert user_api.get("/admin/exchanges/keys").status_code == 403


@pytest.mark.django_db
def test_adding_a_sealed_key_stores_it_encrypted_and_never_shows_it(admin_api, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    ExchangeFactory.create(exchange_id="binance")
    public = admin_api.get("/admin/exchanges/key-pair").json()["publicKey"]
    body = {
        "exchange": "binance",
        "name": "main",
        "api_key": API_KEY,
        "api_secret": secrets.seal_for_tests(plaintext=SECRET, public_key_b64=public),
    }

    created = admin_api.post("/admin/exchanges/keys", body, format="json")
    listed = admin_api.get("/admin/exchanges/keys")

    assert created.status_code == 201, created.content
    key = created.json()
    assert key["exchange"] == "binance" and key["exchange_index"] == 0
    assert key["account_ref"] == "binance:0"
    assert key["api_secret"] == "********" and key["api_key"] == "********1234"
    assert listed.json() == [key]
    account = VenueAccount.objects.get()
    assert SECRET not in account.api_secret_encrypted and API_KEY not in account.api_key_encrypted
    assert services.venue_credentials_get(account=account).secret == SECRET
    event = AuditEvent.objects.get(action="venue_account.create")
    assert event.target_id == "binance:0" and event.actor is not None
    for text in (created.content.decode(), listed.content.decode(), str(event.payload)):
        assert SECRET not in text and API_KEY not in text
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert SECRET not in logged and API_KEY not in logged and body["api_secret"] not in logged


@pytest.mark.django_db
def test_a_second_key_without_index_takes_the_next_free_one(admin_api) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    for expected in (0, 1):
        body = {
            "exchange": "binance",
            "name": f"acct {expected}",
            "api_key": API_KEY,
            "api_secret": secrets.seal_for_tests(plaintext=SECRET),
        }
        response = admin_api.post("/admin/exchanges/keys", body, format="json")
        assert response.json()["exchange_index"] == expected
    taken = admin_api.post(
        "/admin/exchanges/keys",
        {**body, "exchange_index": 1, "api_secret": secrets.seal_for_tests(plaintext=SECRET)},
        format="json",
    )
    assert taken.status_code == 409
    assert VenueAccount.objects.count() == 2


@pytest.mark.django_db
def test_a_bad_seal_is_a_400_and_stores_nothing(admin_api) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    response = admin_api.post(
        "/admin/exchanges/keys",
        {"exchange": "binance", "name": "main", "api_key": API_KEY, "api_secret": SECRET},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "sealed_secret_invalid"
    assert "crypto_box_seal" in response.json()["message"]
    assert SECRET not in response.content.decode()
    assert not VenueAccount.objects.exists()
    rejected = AuditEvent.objects.get(outcome=AuditOutcome.REJECTED)
    assert SECRET not in rejected.reason and SECRET not in str(rejected.payload)


@pytest.mark.django_db
def test_a_key_for_an_unknown_exchange_is_a_404(admin_api) -> None:  # type: ignore[no-untyped-def]
    body = {
        "exchange": "nope",
        "name": "x",
        "api_key": API_KEY,
        "api_secret": secrets.seal_for_tests(plaintext=SECRET),
    }
    assert admin_api.post("/admin/exchanges/keys", body, format="json").status_code == 404


@pytest.mark.django_db
def test_deleting_a_key_removes_it_and_is_audited(admin_api) -> None:  # type: ignore[no-untyped-def]
    account = services.venue_account_create(
        exchange=ExchangeFactory.create(), name="x", api_key=API_KEY, api_secret=SECRET, actor=None
    )
    assert admin_api.delete(f"/admin/exchanges/keys/{account.pk}").json() == {"ok": True}
    assert not VenueAccount.objects.exists()
    assert AuditEvent.objects.filter(action="venue_account.remove").count() == 1
    assert admin_api.delete(f"/admin/exchanges/keys/{account.pk}").status_code == 404


# ---------------------------------------------------------------------------- raw keys


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["api_key", "api_secret", "apiKey", "apiSecret"])
def test_raw_key_fields_anywhere_else_are_a_400_and_audited(admin_api, field: str) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    response = admin_api.post(
        "/admin/grow/exchange/update/binance",
        {"name": "B", "options": {"nested": [{field: SECRET}]}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "raw_api_key_rejected"
    assert SECRET not in response.content.decode()
    event = AuditEvent.objects.get(action="raw_api_key_rejected")
    assert event.payload["fields"] == [field] and SECRET not in str(event.payload)
    assert AuditEvent.objects.filter(action="exchange.update").count() == 0


@pytest.mark.django_db
def test_raw_key_fields_in_a_query_string_are_a_400_even_on_the_keys_endpoint(
    admin_api, api
) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/grow/info", {"apiKey": "x"}).status_code == 400
    assert admin_api.get("/admin/exchanges/keys", {"api_secret": "x"}).status_code == 400
    assert AuditEvent.objects.filter(action="raw_api_key_rejected").count() == 2


@pytest.mark.django_db
def test_similar_field_names_pass_the_guard(api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/grow/info", {"api_keys_page": "1"}).status_code == 200


@pytest.mark.django_db
def test_rotate_command_reports_and_reruns_as_a_no_op() -> None:
    import io

    from django.core.management import call_command

    with override_settings(FIELD_ENCRYPTION_KEY=KEY_A, FIELD_ENCRYPTION_OLD_KEYS=[]):
        services.venue_account_create(
            exchange=ExchangeFactory.create(),
            name="a",
            api_key=API_KEY,
            api_secret=SECRET,
            actor=None,
        )
    with override_settings(FIELD_ENCRYPTION_KEY=KEY_B, FIELD_ENCRYPTION_OLD_KEYS=[KEY_A]):
        outs = [io.StringIO(), io.StringIO()]
        for out in outs:
            call_command("exchange_secrets_rotate", stdout=out)
    assert [o.getvalue().strip() for o in outs] == [
        "re-encrypted 1 venue account(s)",
        "re-encrypted 0 venue account(s)",
    ]

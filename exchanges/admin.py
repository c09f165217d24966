"""Operator console for exchanges: venues, accounts (write-only secrets), assets, networks, pairs, fees.

Every save and delete goes through a service (validated, audited). Account secrets are taken
only sealed to the service's public key (a raw secret is refused), in password inputs that
never render a value; the stored ciphertexts are not even shown.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from exchanges import secrets, services
from exchanges.exceptions import SealedSecretInvalid
from exchanges.models import (
    Asset,
    AssetNetwork,
    Exchange,
    FeeSettings,
    MarketMakingPair,
    SpotPair,
    VenueAccount,
)

_M = TypeVar("_M", bound=models.Model)


def _user(request: HttpRequest) -> Any:
    return request.user


class ServiceAdmin(admin.ModelAdmin[_M]):
    """Saves and deletes through `services.registry_object_*` unless a subclass routes them elsewhere."""

    # Icon URLs typed without a scheme are https (Django 6's default; silences its warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.registry_object_save(
            obj=obj, created=not change, actor=_user(request), request=request
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.registry_object_delete(obj=obj, actor=_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Exchange)
class ExchangeAdmin(ServiceAdmin[Exchange]):
    list_display = ("exchange_id", "name", "kind", "ccxt_id", "enable", "updated_at")
    list_filter = ("kind", "enable")
    search_fields = ("exchange_id", "name")
    actions = ["enable_exchanges", "disable_exchanges"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # exchange_id is what pairs and accounts refer to: fixed once created.
        return ("exchange_id",) if obj else ()

    def save_model(self, request: HttpRequest, obj: Exchange, form: Any, change: bool) -> None:
        if change:
            changes = {
                f: form.cleaned_data[f]
                for f in form.changed_data
                if f in services.EXCHANGE_UPDATABLE
            }
            services.exchange_update(
                exchange=obj, changes=changes, actor=_user(request), request=request
            )
            return
        created = services.exchange_create(
            exchange_id=obj.exchange_id,
            name=obj.name,
            icon_url=obj.icon_url,
            enable=obj.enable,
            kind=obj.kind,
            ccxt_id=obj.ccxt_id,
            options=obj.options,
            ticker_cache_seconds=obj.ticker_cache_seconds,
            ohlcv_cache_seconds=obj.ohlcv_cache_seconds,
            markets_cache_seconds=obj.markets_cache_seconds,
            actor=_user(request),
            request=request,
        )
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Exchange) -> None:
        services.exchange_remove(exchange=obj, actor=_user(request), request=request)

    def _set_enable(self, request: HttpRequest, queryset: QuerySet[Exchange], enable: bool) -> None:
        for exchange in queryset:
            services.exchange_update(
                exchange=exchange, changes={"enable": enable}, actor=_user(request), request=request
            )
        messages.success(
            request, f"{'Enabled' if enable else 'Disabled'} {queryset.count()} exchange(s)."
        )

    @admin.action(description="Enable selected exchanges")
    def enable_exchanges(self, request: HttpRequest, queryset: QuerySet[Exchange]) -> None:
        self._set_enable(request, queryset, True)

    @admin.action(description="Disable selected exchanges")
    def disable_exchanges(self, request: HttpRequest, queryset: QuerySet[Exchange]) -> None:
        self._set_enable(request, queryset, False)


def _seal_help(field: str) -> str:
    return (
        f"The {field} sealed in your browser or terminal, never typed here raw: libsodium "
        "crypto_box_seal to this service's public key, as base64. Public key: "
        f"{secrets.server_public_key_b64()} (also GET /admin/exchanges/key-pair). With PyNaCl: "
        "base64.b64encode(SealedBox(PublicKey(base64.b64decode(KEY))).encrypt(SECRET.encode()))."
    )


class _SealedSecretField(forms.CharField):
    """Takes only a sealed box (base64) and cleans to the opened secret; a raw secret does not
    open and is refused (the message never echoes the input, the widget never renders it)."""

    def __init__(self, *, secret_name: str, **kwargs: Any) -> None:
        self.secret_name = secret_name
        kwargs.setdefault("required", False)
        super().__init__(strip=True, widget=forms.PasswordInput(render_value=False), **kwargs)

    def clean(self, value: Any) -> str:
        sealed = super().clean(value)
        if not sealed:
            return ""
        try:
            return secrets.sealed_open(sealed_b64=sealed, field=self.secret_name)
        except SealedSecretInvalid as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class VenueAccountForm(forms.ModelForm[VenueAccount]):
    """The API secret and passphrase are accepted only sealed (DESIGN §7: a raw secret never
    crosses the wire): the form opens them and hands the service the plaintext. Blank on edit
    keeps the stored value; nothing is ever rendered back."""

    api_key_input = forms.CharField(
        label="API key", required=False, strip=True, widget=forms.PasswordInput(render_value=False)
    )
    api_secret_sealed = _SealedSecretField(secret_name="api_secret", label="API secret (sealed)")
    api_passphrase_sealed = _SealedSecretField(
        secret_name="api_passphrase", label="API passphrase, sealed (optional)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per form: the public key comes from settings (never at import time).
        self.fields["api_secret_sealed"].help_text = _seal_help("API secret")
        self.fields["api_passphrase_sealed"].help_text = "Sealed like the API secret."

    class Meta:
        model = VenueAccount
        fields = ("exchange", "index", "name", "read_only", "enabled")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance._state.adding and not (
            data.get("api_key_input") and data.get("api_secret_sealed")
        ):
            if "api_secret_sealed" not in self.errors:
                raise forms.ValidationError(
                    "A new account needs its API key and its sealed API secret."
                )
        return data

    def clean_index(self) -> int:
        index = self.cleaned_data["index"]
        exchange = self.cleaned_data.get("exchange")
        if (
            self.instance._state.adding
            and exchange is not None
            and VenueAccount.objects.filter(exchange=exchange, index=index).exists()
        ):
            raise forms.ValidationError(f"{exchange.exchange_id}:{index} already exists.")
        return int(index)

    def _post_clean(self) -> None:
        # ModelForm would full_clean() the instance here, before the service has encrypted the
        # secrets (an empty ciphertext fails its constraint); the service validates instead.
        return None


@admin.register(VenueAccount)
class VenueAccountAdmin(admin.ModelAdmin[VenueAccount]):
    form = VenueAccountForm
    list_display = ("account_ref", "name", "masked_key", "read_only", "enabled", "updated_at")
    list_filter = ("exchange", "enabled", "read_only")
    search_fields = ("name", "exchange__exchange_id")

    @admin.display(description="API key")
    def masked_key(self, obj: VenueAccount) -> str:
        return f"********{obj.api_key_hint}"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("exchange", "index") if obj else ()

    def save_model(self, request: HttpRequest, obj: VenueAccount, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.venue_account_update(
                account=obj,
                changes={f: data[f] for f in ("name", "read_only", "enabled") if f in data},
                api_key=data.get("api_key_input") or None,
                api_secret=data.get("api_secret_sealed") or None,
                api_passphrase=data.get("api_passphrase_sealed") or None,
                actor=_user(request),
                request=request,
            )
            return
        created = services.venue_account_create(
            exchange=data["exchange"],
            index=data.get("index"),
            name=data["name"],
            api_key=data["api_key_input"],
            api_secret=data["api_secret_sealed"],
            api_passphrase=data.get("api_passphrase_sealed") or "",
            read_only=data.get("read_only", False),
            enabled=data.get("enabled", True),
            actor=_user(request),
            request=request,
        )
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: VenueAccount) -> None:
        services.venue_account_remove(account=obj, actor=_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[VenueAccount]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Asset)
class AssetAdmin(ServiceAdmin[Asset]):
    list_display = ("symbol", "name", "asset_id", "chain_id", "price_usd", "updated_at")
    search_fields = ("symbol", "name", "asset_id")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The Mixin asset id is the identity pairs refer to.
        return ("asset_id",) if obj else ()


@admin.register(AssetNetwork)
class AssetNetworkAdmin(ServiceAdmin[AssetNetwork]):
    list_display = (
        "asset",
        "exchange",
        "currency",
        "network",
        "deposit_enabled",
        "withdraw_enabled",
        "withdraw_fee",
        "withdraw_min",
    )
    list_filter = ("exchange", "network", "deposit_enabled", "withdraw_enabled")
    search_fields = ("asset__symbol", "currency", "network")


@admin.register(MarketMakingPair)
class MarketMakingPairAdmin(ServiceAdmin[MarketMakingPair]):
    list_display = ("symbol", "exchange", "id", "custom_fee_rate", "enable", "updated_at")
    list_filter = ("exchange", "enable")
    search_fields = ("symbol", "id")
    readonly_fields = ("id",)

    def save_model(
        self, request: HttpRequest, obj: MarketMakingPair, form: Any, change: bool
    ) -> None:
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data}
            services.market_making_pair_update(
                pair=obj, data=data, actor=_user(request), request=request
            )
            return
        created = services.market_making_pair_create(
            data={
                "id": obj.id,
                "exchange_id": obj.exchange_id,
                "symbol": obj.symbol,
                "base_asset_id": obj.base_asset_id,
                "quote_asset_id": obj.quote_asset_id,
                **{f: getattr(obj, f) for f in services.PAIR_UPDATABLE},
            },
            actor=_user(request),
            request=request,
        )
        obj.pk = created.pk

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        identity = (
            "exchange",
            "symbol",
            "base_symbol",
            "quote_symbol",
            "base_asset",
            "quote_asset",
        )
        return ("id", *identity) if obj else ("id", "base_symbol", "quote_symbol")

    def delete_model(self, request: HttpRequest, obj: MarketMakingPair) -> None:
        services.market_making_pair_remove(pair=obj, actor=_user(request), request=request)


@admin.register(SpotPair)
class SpotPairAdmin(ServiceAdmin[SpotPair]):
    list_display = ("symbol", "exchange", "id", "enable", "updated_at")
    list_filter = ("exchange", "enable")
    search_fields = ("symbol", "id")
    readonly_fields = ("id",)


@admin.register(FeeSettings)
class FeeSettingsAdmin(admin.ModelAdmin[FeeSettings]):
    list_display = (
        "__str__",
        "spot_fee",
        "enable_spot_fee",
        "market_making_fee",
        "enable_market_making_fee",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not FeeSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FeeSettings, form: Any, change: bool) -> None:
        changes = {f: form.cleaned_data[f] for f in services.FEE_FIELDS if f in form.cleaned_data}
        updated = services.fee_settings_update(
            changes=changes, actor=_user(request), request=request
        )
        obj.pk = updated.pk

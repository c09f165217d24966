"""Walk every route of CONTRACT.md as the frontend calls it (tests/contract/table.py).

For each route: the method and path resolve, the auth is enforced (no token: 401 on user
and admin routes), the status is the contract's, the answer validates against the route's
OpenAPI schema (the schema is the response), and every field the UI reads is there with
its type. Lists the UI reads item fields of must not be empty (an empty list checks
nothing). All gaps are collected and reported together. A second test parses
`../shared/CONTRACT.md` (when present) and fails on any route missing from the table.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import TestCase
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from exchanges import catalog, secrets
from exchanges import demo as exchanges_demo
from exchanges.enums import ExchangeKind
from standins.coingecko import CoinGeckoStandIn
from standins.oauth.emulator import MixinOAuthEmulator
from strategy.enums import IntentStatus
from strategy.executor import order_intent_execute
from strategy.marketdata import market_data_refresh
from strategy.models import OrderIntent
from strategy.runner import sessions_run
from strategy.tick import strategy_tick
from strategy.tracking import venue_account_sync
from tests.contract.table import ROUTES, SOCKET_CLIENT_EVENTS, SOCKET_SERVER_EVENTS, Route
from tests.exchanges.factories import ExchangeFactory, VenueAccountFactory
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db
# The steering repo's shared/ sits beside the checkout (CI) or beside its parent (worktrees).
CONTRACT = next(
    (
        folder / "shared" / "CONTRACT.md"
        for folder in Path(settings.BASE_DIR).resolve().parents[:2]
        if (folder / "shared" / "CONTRACT.md").exists()
    ),
    Path(settings.BASE_DIR).parent / "shared" / "CONTRACT.md",
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# ---------------------------------------------------------------------------- checks


def _openapi() -> dict[str, Any]:
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


def _jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable` becomes a null type, refs stay resolvable."""
    if isinstance(node, list):
        return [_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "$ref" in out or "allOf" in out or "oneOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    return out


def _schema_for(openapi: dict[str, Any], route: Route) -> dict[str, Any] | None:
    shape = _PLACEHOLDER.sub("{}", route.path)
    paths = [p for p in openapi["paths"] if _PLACEHOLDER.sub("{}", p) == shape]
    op = openapi["paths"][paths[0]].get(route.method.lower()) if paths else None
    if op is None:
        return None
    response = op.get("responses", {}).get(str(route.status), {})
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    defs = {k: _jsonschema(v) for k, v in openapi["components"]["schemas"].items()}
    return {**_jsonschema(schema), "$defs": defs}


def _values(body: Any, path: str) -> list[Any] | None:
    """All values at a dotted path (`[]` every item, `*` every map value); None if absent."""
    current = [body]
    for part in re.findall(r"\[\]|\*|[^.\[\]*]+", path):
        nxt: list[Any] = []
        for value in current:
            if part == "[]":
                if not isinstance(value, list):
                    return None
                nxt.extend(value)
            elif part == "*":
                if not isinstance(value, dict):
                    return None
                nxt.extend(value.values())
            else:
                if not isinstance(value, dict) or part not in value:
                    return None
                nxt.append(value[part])
        current = nxt
    return current


def _type_ok(value: Any, spec: str) -> bool:
    nullable = spec.endswith("?")
    spec = spec.rstrip("?")
    if value is None:
        return nullable
    checks = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "dict": lambda v: isinstance(v, dict),
        "dec": lambda v: isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
        "time": lambda v: (
            isinstance(v, str)
            and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", v) is not None
        ),
        "num|dec": lambda v: (
            (isinstance(v, int | float) and not isinstance(v, bool))
            or (isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v) is not None)
        ),
    }
    return checks[spec](value)


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return world[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(world[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


def _client(route: Route, world: dict[str, Any]) -> APIClient:
    client = APIClient()
    token = {"user": world["user_token"], "admin": world["admin_token"]}.get(route.auth)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _call(client: APIClient, route: Route, world: dict[str, Any]) -> Any:
    path = _fill(route.path, world)
    query = _fill(route.query, world)
    body = route.body
    if body is not None and "$dto" in body:
        body = world["dtos"][body["$dto"]]
    body = _fill(body, world)
    if query:
        from urllib.parse import urlencode

        path = f"{path}?{urlencode(query)}"
    return getattr(client, route.method.lower())(path, body, format="json")


def _check(route: Route, response: Any, openapi: dict[str, Any]) -> list[str]:
    name = f"{route.method} {route.path}"
    if response.status_code != route.status:
        return [
            f"{name}: status {response.status_code} (want {route.status}): {response.content[:300]!r}"
        ]
    if route.path == "/docs":
        return [] if b"swagger" in response.content.lower() else [f"{name}: not Swagger UI"]
    body = response.json()
    gaps = []
    schema = _schema_for(openapi, route)
    if schema is None:
        gaps.append(f"{name}: no JSON schema for {route.status} in the OpenAPI document")
    else:
        try:
            jsonschema.validate(body, schema)
        except jsonschema.ValidationError as exc:
            gaps.append(
                f"{name}: answer does not match its schema: {exc.message} at {list(exc.path)}"
            )
    for path, spec in route.fields.items():
        values = _values(body, path)
        if values is None:
            gaps.append(f"{name}: field {path} missing")
        elif not values:
            gaps.append(f"{name}: {path}: empty list, nothing to check")
        else:
            bad = [v for v in values if not _type_ok(v, spec)]
            if bad:
                gaps.append(f"{name}: {path} is not {spec}: {bad[:2]!r}")
    return gaps


# ---------------------------------------------------------------------------- the world


def _committed(fn: Any, /, **kwargs: Any) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(**kwargs)


def _trade_once() -> None:
    """One strategy tick on the paper venue so the order has intents and venue orders."""
    result = _committed(strategy_tick)
    for need in result.markets:
        market_data_refresh(
            exchange_id=need.exchange_id, symbol=need.symbol, with_last=need.with_last
        )
    for batch in result.batches:
        _committed(sessions_run, session_ids=batch)
    for intent in OrderIntent.objects.filter(status=IntentStatus.PENDING).order_by("id"):
        _committed(order_intent_execute, intent_id=intent.pk)
    _committed(venue_account_sync, exchange_id="paper", account_index=0)


@pytest.fixture
def world(demo, user, user_api, operator, admin_api, settings):  # type: ignore[no-untyped-def]  # noqa: F811
    from mrmarket.services import admin_jwt_issue, user_token_issue
    from orders.services.intents import order_intent_create

    order = order_intent_create(user=user, pair_id=demo.pk)
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    order = play_beat(order, until={"running"})
    assert order.state == "running", order.failure_reason
    _trade_once()
    other = ExchangeFactory(exchange_id="paperb", kind=ExchangeKind.PAPER, ccxt_id="")
    VenueAccountFactory(exchange=other, index=0)
    # one row in each catalog /grow/info lists (the walk adds and removes its own later)
    catalog.simply_grow_token_add(
        data={"asset_id": USDT, "name": "Tether", "symbol": "USDT", "apy": "0.04"}, actor=None
    )
    catalog.arbitrage_pair_add(
        data={
            "symbol": "ETH/USDT",
            "base_asset_id": str(exchanges_demo.ETH),
            "quote_asset_id": USDT,
            "base_exchange_id": "paper",
            "target_exchange_id": "paperb",
        },
        actor=None,
    )
    demo.custom_fee_rate = "0.0015"
    demo.save(update_fields=["custom_fee_rate"])
    user_raw, _ = user_token_issue(user=user)
    admin_raw, _ = admin_jwt_issue(user=operator)
    new_base = str(uuid.uuid4())
    dtos = {
        "key": {
            "exchange": "paperb",
            "name": "walk key",
            "api_key": "walk-api-key-1234",
            "api_secret": secrets.seal_for_tests(plaintext="walk-secret"),
        },
        "mm": {
            "exchange_id": "paper",
            "symbol": "WALK/USDT",
            "base_asset_id": new_base,
            "quote_asset_id": USDT,
        },
        "spot": {
            "exchange_id": "paper",
            "symbol": "WALK/USDT",
            "base_asset_id": new_base,
            "quote_asset_id": USDT,
        },
        "token": {
            "asset_id": BTC,
            "name": "Bitcoin",
            "symbol": "BTC",
            "icon_url": "https://example.com/btc.png",
            "apy": "0.05",
        },
        "arb": {
            "symbol": "BTC/USDT",
            "base_asset_id": BTC,
            "quote_asset_id": USDT,
            "base_exchange_id": "paper",
            "target_exchange_id": "paperb",
        },
        "pmm": {
            "userId": str(operator.pk),
            "clientId": "walk-pmm",
            "pair": "ETH/USDT",
            "exchangeName": "paper",
            "bidSpread": "0.01",
            "askSpread": "0.01",
            "orderAmount": "0.01",
            "orderRefreshTime": 10000,
            "numberOfLayers": 1,
            "priceSourceType": "mid_price",
            "amountChangePerLayer": "0",
            "amountChangeType": "fixed",
        },
        "arbitrage": {
            "userId": str(operator.pk),
            "clientId": "walk-arb",
            "pair": "BTC/USDT",
            "exchangeAName": "paper",
            "exchangeBName": "paperb",
            "amountToTrade": "0.001",
            "minProfitability": "0.01",
        },
    }
    return {
        "order_id": str(order.pk),
        "user_id": str(user.pk),
        "operator_id": str(operator.pk),
        "pair_id": str(demo.pk),
        "user_token": user_raw,
        "admin_token": admin_raw,
        "pw": hashlib.sha256(settings.ADMIN_PASSWORD.encode()).hexdigest(),
        "venue": "paper",
        "new_exchange": "walkx",
        "vs": "usd",
        "coin": "bitcoin",
        "category": "layer-1",
        "chart_from": "1750000000",
        "chart_to": "1750086400",
        "dtos": dtos,
    }


def test_every_contract_route_answers_what_the_ui_reads(world, settings) -> None:  # type: ignore[no-untyped-def]
    openapi = _openapi()
    gaps: list[str] = []
    mixin = MixinOAuthEmulator(client_id="walk-app", client_secret="walk-cs")
    coingecko = CoinGeckoStandIn(clock=lambda: 1_750_100_000.0, rate_per_minute=None)
    with mixin, coingecko:
        settings.MIXIN_API_BASE, settings.MIXIN_APP_ID = mixin.base_url, "walk-app"
        settings.MIXIN_OAUTH_CLIENT_SECRET = "walk-cs"
        settings.COINGECKO_API_BASE = coingecko.api_base
        world["oauth_code"], _ = mixin.add_code(full_name="Walker")
        for route in sorted(ROUTES, key=lambda r: r.order):
            try:
                resolve(_fill(route.path, world))
            except Resolver404:
                gaps.append(f"{route.method} {route.path}: no such route")
                continue
            if route.auth != "public":
                anonymous = _call(APIClient(), route, world)
                if anonymous.status_code != 401:
                    gaps.append(
                        f"{route.method} {route.path}: {anonymous.status_code} without a token"
                    )
            response = _call(_client(route, world), route, world)
            gaps.extend(_check(route, response, openapi))
            if response.status_code == route.status and route.capture:
                body = response.json()
                for name, field in route.capture.items():
                    world[name] = _values(body, field)[0]  # type: ignore[index]
    assert gaps == [], "\n".join(gaps)


# ---------------------------------------------------------------------------- the table is complete


def _contract_routes(text: str) -> set[tuple[str, str]]:
    """(method, path with `{}` placeholders) of every row of CONTRACT.md's route tables."""
    routes: set[tuple[str, str]] = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"[A-Z][A-Z/, ]*", cells[0]):
            continue
        methods = [m for m in re.split(r"[/, ]+", cells[0]) if m]
        paths: list[tuple[str | None, str]] = []
        for m in re.finditer(r"(?:\b(GET|POST|DELETE|PUT)\s+)?`([^`]+)`", cells[1]):
            paths.append((m.group(1), m.group(2).split("?")[0]))
        first = paths[0][1] if paths else ""
        for i, (explicit, path) in enumerate(paths):
            if i and not path.startswith(first.rsplit("/", 1)[0]) and path.count("/") <= 2:
                path = first.rsplit("/", 1)[0] + path  # `/update/{id}` continues the row's prefix
            if explicit:
                wanted = [explicit]
            elif len(methods) == len(paths) and len(paths) > 1:
                wanted = [methods[i]]
            else:
                wanted = [m for m in methods if not explicit]
            for method in wanted:
                routes.add((method, _PLACEHOLDER.sub("{}", path)))
    return routes


def test_the_table_lists_every_route_of_contract_md() -> None:
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is not beside the repository")
    contract = _contract_routes(CONTRACT.read_text())
    assert len(contract) > 60, sorted(contract)
    table = {(r.method, _PLACEHOLDER.sub("{}", r.path)) for r in ROUTES}
    missing = sorted(contract - table)
    assert missing == [], missing


def test_the_table_lists_every_socket_event_of_contract_md() -> None:
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is not beside the repository")
    section = CONTRACT.read_text().split("## Market data socket", 1)[1]
    client_part, server_part = section.split("the server emits", 1)
    client = set(re.findall(r"`(\w+)\s*[{`]", client_part))
    server = set(re.findall(r"`(\w+)\s*[{`]", server_part))
    assert client == set(SOCKET_CLIENT_EVENTS), client
    assert server == set(SOCKET_SERVER_EVENTS), server

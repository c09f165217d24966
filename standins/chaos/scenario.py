"""The users of the chaos run: orders through the REST API, payments through the fake custody
(the way a user's wallet pays the bot), controls fired at once from several threads."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from exchanges import demo as exchanges_demo
from mrmarket.models import User
from mrmarket.services import user_token_issue
from orders.enums import EXITABLE_STATES, OPEN_TRANSFER_STATUSES, TERMINAL_STATES
from orders.models import CustodyTransfer, MarketMakingOrder, PaymentSnapshot
from standins.custody.gateway import fake_custody_asset_upsert, fake_custody_pay

BTC, ETH, USDT = str(exchanges_demo.BTC), str(exchanges_demo.ETH), str(exchanges_demo.USDT)
SCENARIOS = (
    "good",
    "split",
    "double",
    "bad_memo",
    "wrong_payer",
    "wrong_asset",
    "partial",
    "unpaid",
)
# What each pair's order is paid with (base, quote): small, a few hundred dollars.
PAYMENT = {
    "BTC/USDT": (Decimal("0.002"), Decimal("200")),
    "ETH/USDT": (Decimal("0.06"), Decimal("200")),
}
CONTROLS = ("pause", "resume", "stop", "exit-withdrawal")
# Most races are pause against resume, so orders keep quoting (and filling) through the chaos;
# one race in FINAL_RACE_SHARE also fires stop or exit, which end an order's trading.
FINAL_RACE_SHARE = 0.15
# Orders whose controls are raced: those on the venue (earlier ones are exited at the end).
RACED_STATES = ("created", "running", "paused", "stopped")


@dataclass
class Placed:
    order_id: str
    user: int
    pair: str
    scenario: str


@dataclass
class World:
    users: list[User]
    tokens: list[str]
    base_url: str
    orders: list[Placed] = field(default_factory=list)
    api_errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ setup

    @classmethod
    def seed(cls, *, users: int, port: int) -> World:
        exchanges_demo.seed()
        for asset, symbol, chain, price, fee in (
            (BTC, "BTC", BTC, Decimal(95000), Decimal("0.00001")),
            (ETH, "ETH", ETH, Decimal(3200), Decimal("0.0001")),
            (USDT, "USDT", ETH, Decimal(1), Decimal(1)),
        ):
            fake_custody_asset_upsert(
                asset_id=asset, symbol=symbol, chain_id=chain, precision=8,
                price_usd=price, withdrawal_fee=fee,
            )  # fmt: skip
        people, tokens = [], []
        for i in range(users):
            user = User.objects.create(
                username=f"chaos{i}", is_mixin_user=True, identity_number=f"70000{i:05d}"
            )
            people.append(user)
            tokens.append(user_token_issue(user=user, label="chaos")[0])
        return cls(users=people, tokens=tokens, base_url=f"http://127.0.0.1:{port}")

    def wait_for_web(self, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit("web did not start")

    # ------------------------------------------------------------------ the API

    def call(self, user: int, method: str, path: str, body: Any = None) -> requests.Response | None:
        """One REST call as `user`; a refused connection or 5xx is retried a few times."""
        for _ in range(5):
            try:
                response = requests.request(
                    method,
                    f"{self.base_url}{path}",
                    json=body,
                    headers={"Authorization": f"Bearer {self.tokens[user]}"},
                    timeout=30,
                )
            except requests.RequestException as exc:
                self._count(type(exc).__name__)
                time.sleep(1)
                continue
            if response.status_code >= 500:
                self._count(f"http_{response.status_code}")
                time.sleep(1)
                continue
            return response
        return None

    def _count(self, what: str) -> None:
        with self.lock:
            self.api_errors[what] = self.api_errors.get(what, 0) + 1

    # ------------------------------------------------------------------ orders and payments

    def place(self, i: int) -> Placed | None:
        user = i % len(self.users)
        pair = "BTC/USDT" if i % 3 else "ETH/USDT"
        response = self.call(
            user,
            "POST",
            "/user-orders/market-making/intent",
            {"marketMakingPairId": str(exchanges_demo.pair_id(pair))},
        )
        if response is None or response.status_code != 200:
            self._count("intent_refused")
            return None
        placed = Placed(response.json()["orderId"], user, pair, SCENARIOS[i % len(SCENARIOS)])
        with self.lock:
            self.orders.append(placed)
        return placed

    def pay(self, placed: Placed) -> None:
        order = MarketMakingOrder.objects.select_related("pair").get(pk=placed.order_id)
        payer = str(self.users[placed.user].pk)
        base_amount, quote_amount = PAYMENT[placed.pair]
        base, quote = str(order.pair.base_asset_id), str(order.pair.quote_asset_id)
        full = {base: base_amount, quote: quote_amount}
        for fee_asset, fee in (
            (order.base_fee_asset_id, order.required_base_withdrawal_fee),
            (order.quote_fee_asset_id, order.required_quote_withdrawal_fee),
        ):
            full[fee_asset] = full.get(fee_asset, Decimal(0)) + Decimal(fee)

        def send(asset: str, amount: Decimal, *, memo: str = order.memo, by: str = payer) -> None:
            fake_custody_pay(user_id=by, asset_id=asset, amount=amount, memo_text=memo)
            time.sleep(random.uniform(0, 0.3))  # noqa: S311

        scenario = placed.scenario
        if scenario == "unpaid":
            return
        if scenario == "bad_memo":
            send(base, Decimal("0.0001"), memo="not a memo")
        elif scenario == "wrong_payer":
            other = self.users[(placed.user + 1) % len(self.users)]
            send(quote, Decimal("3"), by=str(other.pk))
        elif scenario == "wrong_asset":
            send(ETH if base != ETH else BTC, Decimal("0.0002"))
        if scenario == "partial":
            send(base, full[base])
            return
        if scenario == "split":
            for asset, amount in full.items():
                half = (amount / 2).quantize(Decimal("1e-8"))
                send(asset, half)
                send(asset, amount - half)
            return
        for asset, amount in full.items():
            send(asset, amount)
        if scenario == "double":  # the whole payment delivered again: refunded
            for asset, amount in full.items():
                send(asset, amount)

    def race_controls(self) -> None:
        """Two controls on one live order, fired at the same moment."""
        live = list(
            MarketMakingOrder.objects.filter(
                pk__in=[p.order_id for p in self.orders], state__in=RACED_STATES
            ).values_list("pk", flat=True)[:50]
        )
        if not live:
            return
        order_id = str(random.choice(live))  # noqa: S311
        placed = next(p for p in self.orders if p.order_id == order_id)
        if random.random() < FINAL_RACE_SHARE:  # noqa: S311
            controls = random.sample(CONTROLS, 2)  # noqa: S311
        else:
            controls = ["pause", "resume"]
        barrier = threading.Barrier(2)

        def fire(control: str) -> None:
            barrier.wait()
            self.call(placed.user, "POST", f"/user-orders/market-making/{order_id}/{control}")

        threads = [threading.Thread(target=fire, args=(c,)) for c in controls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with self.lock:
            self.api_errors["controls_raced"] = self.api_errors.get("controls_raced", 0) + 2

    def drive(self, *, orders: int, seconds: float) -> None:
        """Place and pay every order (a few at a time), then race controls for `seconds`
        more: the paid orders reach the venue and quote (and fill) under the chaos, however
        long placing and paying took on a busy machine."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            for placed in pool.map(self.place, range(orders)):
                if placed is not None:
                    pool.submit(self.pay, placed)
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.race_controls()
            time.sleep(random.uniform(0.5, 2))  # noqa: S311

    # ------------------------------------------------------------------ settling

    def settle(self, *, bound: float, fleet: Any) -> bool:
        """Exit every live order (again as it becomes exitable) until every order is final,
        no transfer is open and no snapshot waits; False if `bound` seconds pass first."""
        deadline = time.monotonic() + bound
        ids = [p.order_id for p in self.orders]
        owner = {p.order_id: p.user for p in self.orders}
        while time.monotonic() < deadline:
            fleet.ensure()
            states = dict(MarketMakingOrder.objects.filter(pk__in=ids).values_list("pk", "state"))
            for order_id, state in states.items():
                if state in EXITABLE_STATES:
                    self.call(
                        owner[str(order_id)],
                        "POST",
                        f"/user-orders/market-making/{order_id}/exit-withdrawal",
                    )
            if (
                all(s in TERMINAL_STATES for s in states.values())
                and not CustodyTransfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES)
                .exclude(status="confirmed", purpose="refund")
                .exists()
                and not PaymentSnapshot.objects.filter(status="received").exists()
            ):
                return True
            time.sleep(2)
        return False

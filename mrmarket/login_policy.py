"""One login policy for the API (`POST /auth/login`) and the console (`/console/login/`).

Every attempt, on either door, goes through `login_guard`:

1. Lockout: an account or a client address that reached `LOGIN_LOCKOUT_FAILURES` failures
   within `LOGIN_FAILURE_WINDOW_SECONDS` is refused for `LOGIN_LOCKOUT_SECONDS` (429), the
   right password included — so a guesser cannot keep trying at the throttle's pace.
2. Throttle: attempts per client address (`THROTTLE_LOGIN`, 5/min by default), counted
   atomically (mrmarket.throttles) before the password is looked at, so 32 parallel
   clients get exactly 5 tries between them.
3. The caller checks the password, then reports `login_failed` or `login_succeeded`.
   Failures count against the account and the address; success clears the account's
   failures. Both are audited (`auth.login`), failures through the per-address audit limit.

The counters live in the cache (Redis in production), keyed by a hash of the account name,
so the lockout holds across processes. Locking the operator account is a denial-of-service
an attacker can cause; the lockout is short and the console shows who caused it (audit).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from mrmarket.audit import audit_record, audit_rejected
from mrmarket.enums import AuditOutcome
from mrmarket.exceptions import DomainError
from mrmarket.models import User
from mrmarket.throttles import (
    client_address,
    counter_clear,
    counter_hit,
    counter_peek,
    rate_setting,
)


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, audited=True)
        self.retry_after = retry_after


def _account_id(account: str) -> str:
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


def _keys(account: str, address: str) -> dict[str, str]:
    account_id = _account_id(account)
    return {
        "attempts": f"login:attempts:{address}",
        "fail_account": f"login:fail:account:{account_id}",
        "fail_address": f"login:fail:address:{address}",
        "lock_account": f"login:lock:account:{account_id}",
        "lock_address": f"login:lock:address:{address}",
    }


def login_guard(*, account: str, request: HttpRequest | Any, channel: str) -> None:
    """Before checking a password: 429 (TooManyAttempts) when locked out or throttled."""
    address = client_address(request)
    keys = _keys(account, address)
    for which in ("lock_account", "lock_address"):
        lock = counter_peek(keys[which], settings.LOGIN_LOCKOUT_SECONDS)
        if lock.count:
            _refused(request, account, channel, "locked", which, lock.wait)
    rate = rate_setting("login")
    hit = counter_hit(keys["attempts"], rate.window)
    if hit.over(rate.limit):
        _refused(request, account, channel, "throttled", "attempts", hit.wait)


def _refused(request: Any, account: str, channel: str, why: str, which: str, wait: float) -> None:
    audit_rejected(
        action="auth.login",
        reason=f"login {why}",
        payload={"channel": channel, "account": account[:150], "limit": which},
        request=request,
    )
    message = (
        "Too many failed logins; try again later."
        if why == "locked"
        else "Too many login attempts; slow down."
    )
    raise TooManyAttempts(message, retry_after=wait)


def login_failed(*, account: str, request: HttpRequest | Any, channel: str) -> None:
    address = client_address(request)
    keys = _keys(account, address)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    limit = settings.LOGIN_LOCKOUT_FAILURES
    for counter, lock in (("fail_account", "lock_account"), ("fail_address", "lock_address")):
        if counter_hit(keys[counter], window).count >= limit:
            counter_hit(keys[lock], settings.LOGIN_LOCKOUT_SECONDS)
            counter_clear(keys[counter])
    audit_rejected(
        action="auth.login",
        reason="invalid credentials",
        payload={"channel": channel, "account": account[:150]},
        request=request,
    )


def login_succeeded(
    *, account: str, user: User, request: HttpRequest | Any, channel: str, target_id: str = ""
) -> None:
    keys = _keys(account, client_address(request))
    counter_clear(keys["fail_account"])
    audit_record(
        action="auth.login",
        outcome=AuditOutcome.OK,
        actor=user,
        target_type="auth_token" if target_id else "",
        target_id=target_id,
        payload={"channel": channel},
        request=request,
    )

"""The embedded Celery transport: kombu's filesystem transport with atomic writes and reads.

Design (decision 0610). kombu's `filesystem://` writes a message file in place, in the very
folder its consumers poll, and the reader never takes the writer's lock: a consumer polling
every 50 ms can move and read a file before it is filled, and the worker dies with
`JSONDecodeError` on an empty message. Here:

- a publisher writes the whole message to `<queue folder>/.incoming/<name>.part` (same file
  system), then `os.rename`s it into the queue folder. A rename is atomic on POSIX: a name
  in the queue folder always holds a complete message;
- a consumer claims a message by renaming it into its own `processing/` folder (also on the
  same file system: the default, `/tmp`, may be another one, and then kombu's `shutil.move`
  is a copy that two consumers can both make). Only one rename of a name can succeed; the
  losers see FileNotFoundError and try the next name;
- a message that still cannot be decoded (written by the old transport, or a truncated disk)
  is moved to `rejected/` with an event in the log, never raised into the worker;
- names start with the wall-clock time in nanoseconds, zero padded, so sorting by name is
  sorting by age (FIFO) and the age of the oldest waiting message is read off its name,
  without opening it (`oldest_waiting_age`);
- exchange tables (`control_folder`) live under the broker folder, never in the working
  directory.

Delivery stays at most once per claim, as with kombu's transport: an unacked message is
restored on a clean shutdown; a worker killed mid-task loses it and the beat-driven sweepers
re-drive the step from the database (DESIGN §4).
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from functools import cached_property
from pathlib import Path
from queue import Empty
from typing import Any

import structlog
from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = structlog.get_logger(__name__)

INCOMING = ".incoming"
SUFFIX = ".msg"
_NS_DIGITS = 20  # time.time_ns() zero padded: names sort by publication time


def message_name(queue: str, *, now_ns: int | None = None) -> str:
    """`<time ns>_<uuid>.<queue>.msg`: the prefix has no dot, kombu's queue matching holds."""
    stamp = time.time_ns() if now_ns is None else now_ns
    return f"{stamp:0{_NS_DIGITS}d}_{uuid.uuid4().hex}.{queue}{SUFFIX}"


def published_at_ns(name: str) -> int | None:
    """The publication time written in a message name, or None for a foreign name."""
    head = name.partition("_")[0]
    return int(head) if head.isdigit() and len(head) == _NS_DIGITS else None


def queue_of(name: str) -> str | None:
    rest = name.partition(".")[2]
    return rest[: -len(SUFFIX)] if rest.endswith(SUFFIX) else None


def write_atomically(folder: Path, name: str, data: bytes, *, fsync: bool = False) -> Path:
    """Write `data` under a temporary name in `folder/.incoming`, then rename it into `folder`."""
    incoming = folder / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    part = incoming / f"{name}.part"
    with open(part, "wb") as handle:
        handle.write(data)
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())
    final = folder / name
    os.rename(part, final)
    return final


def waiting(folder: Path) -> dict[str, list[str]]:
    """Message names waiting in `folder`, by queue, oldest first."""
    by_queue: dict[str, list[str]] = {}
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return by_queue
    for name in names:
        queue = queue_of(name)
        if queue is not None:
            by_queue.setdefault(queue, []).append(name)
    return by_queue


def oldest_waiting_age(names: list[str], *, now_ns: int | None = None) -> float | None:
    """Seconds the oldest of `names` (sorted) has waited, from the time in its name."""
    now = time.time_ns() if now_ns is None else now_ns
    for name in names:
        stamp = published_at_ns(name)
        if stamp is not None:
            return max(now - stamp, 0) / 1e9
    return None


class Channel(filesystem.Channel):
    """Filesystem channel whose consumers can only ever see whole messages."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu's stubs name it `message` in the base, `payload` in filesystem
        name = message_name(queue)
        try:
            write_atomically(
                Path(self.data_folder_out),
                name,
                str_to_bytes(dumps(payload)),
                fsync=bool(self.transport_options.get("fsync", False)),
            )
        except OSError as exc:
            raise ChannelError(f"Cannot add {name!r} to the queue folder") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """The oldest whole message of `queue`, claimed by rename; Empty when there is none.

        One listing of the folder serves many gets (a backlog of names, oldest first): a
        long queue costs one `listdir` per batch, not one per message. Names another
        consumer claimed meanwhile fail to rename and are skipped; the folder is listed
        again when the backlog runs out."""
        folder = Path(self.data_folder_in)
        backlog = self._backlogs.setdefault(queue, deque())
        for attempt in range(2):
            if not backlog:
                if attempt:
                    break  # listed once in this call already: nothing to take
                backlog.extend(waiting(folder).get(queue, []))
            while backlog:
                payload = self._take(folder, backlog.popleft())
                if payload is not None:
                    return payload
        raise Empty()

    def _take(self, folder: Path, name: str) -> Any:
        target = self._claim_folder / name
        try:
            os.rename(folder / name, target)
        except FileNotFoundError:
            return None  # another consumer claimed it first
        try:
            raw = target.read_bytes()
        except OSError as exc:
            raise ChannelError(f"Cannot read claimed message {name!r}") from exc
        try:
            payload = loads(bytes_to_str(raw))
        except ValueError:
            self._reject(target, size=len(raw))
            return None
        if self.store_processed:
            os.replace(target, Path(self.processed_folder) / name)
        else:
            target.unlink(missing_ok=True)
        return payload

    @cached_property
    def _backlogs(self) -> dict[str, deque[str]]:
        return {}

    def _reject(self, path: Path, *, size: int) -> None:
        rejected = Path(
            self.transport_options.get("rejected_folder", path.parent.parent / "rejected")
        )
        rejected.mkdir(parents=True, exist_ok=True)
        os.replace(path, rejected / path.name)
        log.error("broker_message_rejected", message=path.name, size=size, folder=str(rejected))

    @cached_property
    def _claim_folder(self) -> Path:
        folder = Path(
            self.transport_options.get(
                "processing_folder", Path(self.data_folder_in).parent / "processing"
            )
        )
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _size(self, queue: str) -> int:
        return len(waiting(Path(self.data_folder_in)).get(queue, []))


class Transport(filesystem.Transport):
    """`CELERY_BROKER_TRANSPORT = "mrmarket.broker:Transport"` with `filesystem://`."""

    Channel = Channel
    # One broker state per process, as kombu's filesystem transport has.
    global_state = virtual.BrokerState()
    driver_name = "filesystem-atomic"

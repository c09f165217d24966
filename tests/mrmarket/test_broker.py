"""The embedded transport (mrmarket.broker): whole messages only, each delivered once."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path
from queue import Empty
from typing import Any

from kombu import Connection

from mrmarket import broker

WRITERS = 4
READERS = 3
PER_WRITER = 150
# Large bodies widen the window in which kombu's own transport exposes a half-written file.
BODY_BYTES = 64 * 1024


def _options(root: Path) -> dict[str, object]:
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processing_folder": str(root / "processing"),
        "rejected_folder": str(root / "rejected"),
        "control_folder": str(root / "control"),
        "polling_interval": 0.01,
    }


def _connection(root: Path) -> Connection:
    return Connection("filesystem://", transport=broker.Transport, transport_options=_options(root))


def _body(writer: int, seq: int) -> dict[str, object]:
    blob = (f"{writer}:{seq}:" * (BODY_BYTES // 8))[:BODY_BYTES]
    return {
        "writer": writer,
        "seq": seq,
        "blob": blob,
        "sha": hashlib.sha256(blob.encode()).hexdigest(),
    }


def _write(root: str, writer: int) -> None:
    with _connection(Path(root)) as conn:
        queue = conn.SimpleQueue("race")
        for seq in range(PER_WRITER):
            queue.put(_body(writer, seq))
        queue.close()


def _read(root: str, out: Any, done: Any) -> None:  # multiprocessing Queue and Event
    seen: list[tuple[int, int, bool]] = []
    problems: list[str] = []
    with _connection(Path(root)) as conn:
        queue = conn.SimpleQueue("race")
        idle = 0
        while True:
            try:
                message = queue.get(timeout=0.05)
            except Empty:
                # stop once writers are done and the folder stayed empty for a while
                idle = idle + 1 if done.is_set() else 0
                if idle >= 10:
                    break
                continue
            except Exception as exc:  # a partial message would surface here
                problems.append(repr(exc))
                continue
            body = message.payload
            intact = hashlib.sha256(body["blob"].encode()).hexdigest() == body["sha"]
            seen.append((body["writer"], body["seq"], intact))
            message.ack()
        queue.close()
    out.put((seen, problems))


def test_concurrent_writers_and_readers_never_see_a_partial_message(tmp_path) -> None:
    # given: writers and readers in separate processes on one queue folder
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    done = ctx.Event()
    readers = [ctx.Process(target=_read, args=(str(tmp_path), out, done)) for _ in range(READERS)]
    writers = [ctx.Process(target=_write, args=(str(tmp_path), w)) for w in range(WRITERS)]
    for process in readers + writers:
        process.start()
    # when: every writer has finished
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    done.set()
    results = [out.get(timeout=120) for _ in readers]
    for process in readers:
        process.join(30)
    # then: each message arrived exactly once, whole, and nothing was rejected or left over
    seen = [item for chunk, _ in results for item in chunk]
    problems = [p for _, chunk in results for p in chunk]
    assert problems == []
    assert all(intact for _, _, intact in seen)
    assert sorted((w, s) for w, s, _ in seen) == [
        (w, s) for w in range(WRITERS) for s in range(PER_WRITER)
    ]
    assert os.listdir(tmp_path / "queue") == [".incoming"]
    assert os.listdir(tmp_path / "queue" / ".incoming") == []
    assert not (tmp_path / "rejected").exists() or os.listdir(tmp_path / "rejected") == []


def test_a_message_name_carries_its_queue_and_publication_time() -> None:
    name = broker.message_name("celery", now_ns=1_700_000_000_000_000_000)
    assert name.startswith("01700000000000000000_") and name.endswith(".celery.msg")
    assert broker.queue_of(name) == "celery"
    assert broker.published_at_ns(name) == 1_700_000_000_000_000_000
    assert broker.queue_of("01700000000000000000_x.celery.msg.part") is None


def test_oldest_waiting_age_reads_the_oldest_name() -> None:
    now = 1_700_000_100_000_000_000
    names = sorted(
        [
            broker.message_name("celery", now_ns=1_700_000_090_000_000_000),
            broker.message_name("celery", now_ns=1_700_000_040_000_000_000),
        ]
    )
    assert broker.oldest_waiting_age(names, now_ns=now) == 60.0
    assert broker.oldest_waiting_age([], now_ns=now) is None


def test_an_undecodable_message_is_set_aside_not_raised(tmp_path) -> None:
    # given: a truncated file left by kombu's old in-place writer, then a good message
    queue_dir = tmp_path / "queue"
    queue_dir.mkdir()
    (queue_dir / broker.message_name("celery", now_ns=1)).write_bytes(b'{"body": "abc')
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        queue.put({"ok": True})
        # when
        message = queue.get(timeout=1)
        # then: the good message is delivered; the bad one is in rejected/, not in the queue
        assert message.payload == {"ok": True}
        message.ack()
        queue.close()
    rejected = os.listdir(tmp_path / "rejected")
    assert len(rejected) == 1 and rejected[0].startswith("00000000000000000001_")
    assert [n for n in os.listdir(queue_dir) if n.endswith(".msg")] == []

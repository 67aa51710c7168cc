"""The watchtower handler the app ships its log lines with, bounded and failure-tolerant.

watchtower's own handler keeps an unbounded queue per stream and, when CloudWatch cannot be
reached, retries each batch five times (each with the client's own retries and timeouts) while
the queue grows. This subclass:

- refuses new lines once the queue holds ``queue_limit`` events or ``queue_max_bytes`` bytes,
  counting them as dropped;
- sends each batch once (the client already retries transient errors), creates the stream on
  first use, and on failure drops the batch, counts it and drops later batches without a
  network call for ``failure_cooldown`` seconds;
- keeps lines other threads log while the stream is being created (they wait in the queue and go
  with the next batch). watchtower drops every line while any thread creates the stream, to
  avoid logging its own side effects; here only the lines the sending thread itself logs during
  the creation are dropped, and like lines logged after ``close`` they are counted;
- waits at most ``FLUSH_TIMEOUT`` seconds in ``flush``/``close``;
- does not wake its sender thread for every line: the thread sleeps until the batch is due
  (``send_interval``), a batch is full, or a flush or close asks for it. watchtower's queue wakes
  it on each line, which costs a thread switch per log line on a busy worker.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import warnings
from operator import itemgetter
from typing import Any, ClassVar

import watchtower


class _QuietQueue(queue.Queue):
    """A queue whose ``put`` wakes the consumer only for control tokens or a full batch."""

    def __init__(self, wake_at: int) -> None:
        super().__init__()
        self.wake_at = wake_at

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self.not_full:
            self._put(item)
            self.unfinished_tasks += 1
            if not isinstance(item, dict) or self._qsize() >= self.wake_at:
                self.not_empty.notify()


class BoundedCloudWatchLogHandler(watchtower.CloudWatchLogHandler):
    # A worker exiting while CloudWatch is down waits at most this long per group, then drops.
    FLUSH_TIMEOUT = 3
    _dropped_lock: ClassVar[threading.Lock] = threading.Lock()
    dropped_total: ClassVar[int] = 0
    _dropped_taken: ClassVar[int] = 0

    def __init__(self, *args: Any, queue_limit: int = 10_000, queue_max_bytes: int = 4 * 1024 * 1024,
                 failure_cooldown: float = 30.0, **kwargs: Any) -> None:
        self.queue_limit = queue_limit
        self.queue_max_bytes = queue_max_bytes
        self.failure_cooldown = failure_cooldown
        self._skip_until = 0.0
        self._failing = False
        super().__init__(*args, **kwargs)
        # botocore and urllib3 lines about our own sending must not come back to us.
        self.addFilter(watchtower._boto_filter)

    # --- counters ---------------------------------------------------------------------------
    @classmethod
    def _count_dropped(cls, events: int) -> None:
        with cls._dropped_lock:
            cls.dropped_total += events

    @classmethod
    def take_dropped(cls) -> int:
        """Events dropped since the previous call (reported as a metric by phb.metrics)."""
        with cls._dropped_lock:
            delta = cls.dropped_total - cls._dropped_taken
            cls._dropped_taken = cls.dropped_total
        return delta

    def queued(self) -> tuple[int, int]:
        return self._queued_events, self._queued_bytes

    # --- watchtower hooks ---------------------------------------------------------------------
    def _init_state(self) -> None:
        # Also runs in a forked child (``_at_fork_reinit``): fresh queues, counters and lock.
        super()._init_state()
        self._count_lock = threading.Lock()
        self._sender_state = threading.local()
        self._queued_events = 0
        self._queued_bytes = 0

    def _stream_for(self, message: logging.LogRecord) -> str:
        template = self.log_stream_name
        if any(part in template for part in ("{logger_name}", "{thread_name}", "{strftime")):
            return self._get_stream_name(message)
        pid = os.getpid()
        cached = self.__dict__.get("_stream_cache")
        if cached is None or cached[0] != pid:
            cached = self._stream_cache = (pid, self._get_stream_name(message))
        return cached[1]

    def _start_stream(self, stream_name: str) -> queue.Queue:
        stream_queue = self.queues[stream_name] = _QuietQueue(wake_at=self.max_batch_count)
        self.sequence_tokens.setdefault(stream_name, None)
        thread = threading.Thread(
            target=self._dequeue_batch,
            args=(stream_queue, stream_name, self.send_interval, self.max_batch_size, self.max_batch_count),
            name=f"cloudwatch-logs-{self.log_group_name}",
            daemon=True,
        )
        self.threads.append(thread)
        thread.start()
        return stream_queue

    def _creating_stream_here(self) -> bool:
        """Whether this thread is the sender, creating the stream (a line it logs now is a side
        effect of the sending)."""
        return getattr(self._sender_state, "creating", False)

    def emit(self, message: logging.LogRecord) -> None:
        if self.shutting_down or self._creating_stream_here():
            self._count_dropped(1)
            return
        try:
            text = self.format(message)
            if not text:
                return
            payload = {"timestamp": int(message.created * 1000), "message": text}
            size = self._size(payload)
            if size > self.max_message_size:
                payload = self._truncate(payload, self.max_message_size - self.EXTRA_MSG_PAYLOAD_SIZE)
                size = self.max_message_size
            with self._count_lock:
                full = self._queued_events >= self.queue_limit or self._queued_bytes + size > self.queue_max_bytes
                if not full:
                    self._queued_events += 1
                    self._queued_bytes += size
            if full:
                self._count_dropped(1)
                return
            stream_name = self._stream_for(message)
            stream_queue = self.queues.get(stream_name) or self._start_stream(stream_name)
            stream_queue.put(payload)
        except Exception:
            self.handleError(message)

    def _release(self, batch: list[dict[str, Any]]) -> None:
        size = sum(min(self._size(m), self.max_message_size) for m in batch)
        with self._count_lock:
            self._queued_events = max(0, self._queued_events - len(batch))
            self._queued_bytes = max(0, self._queued_bytes - size)

    def _submit_batch(self, batch: list[dict[str, Any]], log_stream_name: str, max_retries: int = 5) -> None:
        if not batch:
            return
        self._release(batch)
        if time.monotonic() < self._skip_until:
            self._count_dropped(len(batch))
            return
        kwargs = {
            "logGroupName": self.log_group_name,
            "logStreamName": log_stream_name,
            "logEvents": sorted(batch, key=itemgetter("timestamp")),
        }
        try:
            try:
                self.cwl_client.put_log_events(**kwargs)
            except self.cwl_client.exceptions.ResourceNotFoundException:
                self._sender_state.creating = True
                try:
                    self._idempotent_call("create_log_stream", logGroupName=self.log_group_name,
                                          logStreamName=log_stream_name)
                finally:
                    self._sender_state.creating = False
                self.cwl_client.put_log_events(**kwargs)
        except Exception as exc:
            self._count_dropped(len(batch))
            self._skip_until = time.monotonic() + self.failure_cooldown
            if not self._failing:
                self._failing = True
                warnings.warn(f"CloudWatch Logs unreachable, dropping log batches: {type(exc).__name__}",
                              watchtower.WatchtowerWarning, stacklevel=1)
            return
        self._failing = False

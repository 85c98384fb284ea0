"""Whether Arc is answering, as reads, the shipper and ``/ready`` see it.

Why a shared state: when Arc is down or stalled (SIGSTOP, a cut proxy), a request
hangs until its timeout. One read pays that once and marks the link down; later
reads skip Arc at once and serve the journal (a partial answer, reported by
``status()`` as ``"arc": "disconnected"``) until the shipper's probe sees Arc again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import anyio

from .client import ArcClient
from .failures import (
    ArcAuthError,
    ArcDeleteIncompleteError,
    ArcFlushFailedError,
    ArcUnavailableError,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

State = Literal["connected", "disconnected"]


class ArcLink:
    def __init__(
        self,
        client: ArcClient,
        *,
        read_timeout_s: float,
        probe_timeout_s: float = 2.0,
        stale_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._read_timeout_s = read_timeout_s
        self._probe_timeout_s = probe_timeout_s
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._state: State | None = None
        self._last_ok = float("-inf")
        self.partial_reads = 0

    @property
    def state(self) -> State | None:
        """None until Arc has been asked once."""
        return self._state

    def up(self) -> None:
        self._last_ok = self._clock()
        if self._state != "connected":
            log.info("arc is reachable")
        self._state = "connected"

    def down(self, why: str) -> None:
        if self._state != "disconnected":
            log.warning("arc is unreachable (%s); serving from the local journal", why)
        self._state = "disconnected"

    async def read(self, op: Callable[[], Awaitable[T]]) -> T | None:
        """``op()``'s answer, or None when Arc cannot answer now.

        Trigger: Arc is down, stalled or refusing us. Why: a memory store that
        fails every read while Arc is away loses what the journal still holds.
        Outcome: the caller serves the journal's part and the answer is partial
        (counted here, visible in ``status()``)."""
        if self._state == "disconnected":
            self.partial_reads += 1
            return None
        try:
            with anyio.fail_after(self._read_timeout_s):
                value = await op()
        except TimeoutError:
            self.down("a read timed out")
        except ArcUnavailableError as exc:
            self.down(type(exc).__name__)
        else:
            self.up()
            return value
        self.partial_reads += 1
        return None

    async def call(self, op: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        """``op()`` within ``timeout_s``; failures mark the link down and propagate."""
        try:
            with anyio.fail_after(timeout_s):
                value = await op()
        except TimeoutError:
            self.down("a request timed out")
            raise ArcUnavailableError("arc did not answer in time") from None
        except ArcAuthError as exc:
            # Arc answered; only a refused delete leaves reads and writes working.
            self.up() if exc.reason == "delete_disabled" else self.down(exc.reason)
            raise
        except (ArcDeleteIncompleteError, ArcFlushFailedError):
            self.up()  # Arc answered; what it answered is the caller's to handle
            raise
        except ArcUnavailableError as exc:
            self.down(type(exc).__name__)
            raise
        self.up()
        return value

    async def probe(self) -> bool:
        """Ask ``/health`` once, within the probe timeout; update the state."""
        ok = False
        with anyio.move_on_after(self._probe_timeout_s):
            ok = await self.client.health()
        if ok:
            self.up()
        else:
            self.down("health probe failed")
        return ok

    async def current(self) -> State:
        """The state; when Arc looked fine but has been silent lately, probe first
        (a frozen Arc answers nothing, and nothing else may have asked it)."""
        stale = self._clock() - self._last_ok > self._stale_after_s
        if self._state is None or (self._state == "connected" and stale):
            await self.probe()
        return self._state or "disconnected"

"""The chaos proxy breaks the connection to Arc on demand, in the ways a client meets."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import httpx
import pytest

from .proxy import ChaosProxy

pytestmark = pytest.mark.arc


def _wait_until(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.005)  # polling interval, bounded by the deadline


def test_proxy_forwards_requests_to_arc(arc_proxy: ChaosProxy) -> None:
    assert httpx.get(f"{arc_proxy.url}/health", timeout=5).status_code == 200


def test_cut_resets_open_connections_and_refuses_new_ones(arc_proxy: ChaosProxy) -> None:
    with httpx.Client(base_url=arc_proxy.url, timeout=5) as client:
        assert client.get("/health").status_code == 200  # a kept-alive connection now exists
        arc_proxy.cut()
        with pytest.raises(httpx.TransportError):
            client.get("/health")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{arc_proxy.url}/health", timeout=5)
    assert arc_proxy.state == "cut"


def test_resume_after_cut_listens_again_on_the_same_port(arc_proxy: ChaosProxy) -> None:
    port = arc_proxy.port
    arc_proxy.cut()
    arc_proxy.resume()
    assert arc_proxy.port == port
    assert httpx.get(f"{arc_proxy.url}/health", timeout=5).status_code == 200


def test_stall_accepts_connections_but_answers_nothing(arc_proxy: ChaosProxy) -> None:
    arc_proxy.stall()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{arc_proxy.url}/health", timeout=httpx.Timeout(5, read=0.3))


def test_a_request_held_by_a_stall_completes_after_resume(arc_proxy: ChaosProxy) -> None:
    arc_proxy.stall()
    answer: Future[int] = Future()

    def send() -> None:
        answer.set_result(httpx.get(f"{arc_proxy.url}/health", timeout=10).status_code)

    sender = threading.Thread(target=send)
    sender.start()
    _wait_until(lambda: arc_proxy.connections >= 1)
    assert not answer.done()
    arc_proxy.resume()
    assert answer.result(timeout=10) == 200
    sender.join()


def test_proxy_in_front_of_a_dead_upstream_resets_the_client() -> None:
    with ChaosProxy("127.0.0.1", 1) as proxy, pytest.raises(httpx.TransportError):
        httpx.get(f"{proxy.url}/health", timeout=5)  # nothing listens on port 1

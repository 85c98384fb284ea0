"""Which Host and Origin headers /mcp and /sse accept (DNS-rebinding protection)."""

from __future__ import annotations

import pytest
from mcp.server.transport_security import TransportSecurityMiddleware

from memtrace_mcp.config import Settings
from memtrace_mcp.transports.mcp.http import transport_security


def checker(allowed: list[str]) -> TransportSecurityMiddleware:
    return TransportSecurityMiddleware(transport_security(allowed))


@pytest.mark.parametrize("host", ["127.0.0.1:9100", "localhost:8080", "[::1]:9100", "localhost"])
def test_local_hosts_are_always_accepted(host: str) -> None:
    assert checker([])._validate_host(host)


@pytest.mark.parametrize("host", ["mcp.example.com", "evil.example:9100", "127.0.0.2:9100"])
def test_other_hosts_are_refused_by_default(host: str) -> None:
    assert not checker([])._validate_host(host)


def test_an_allowed_host_is_accepted_with_any_port_and_its_origins_too() -> None:
    check = checker(["mcp.example.com"])
    assert check._validate_host("mcp.example.com") and check._validate_host("mcp.example.com:443")
    assert check._validate_origin("https://mcp.example.com")
    assert check._validate_origin("http://mcp.example.com:8080")
    assert not check._validate_origin("https://evil.example")
    assert not check._validate_host("evil.mcp.example.com")


def test_a_star_turns_the_check_off_for_a_proxy_that_pins_host() -> None:
    assert transport_security(["*"]).enable_dns_rebinding_protection is False


def test_memtrace_allowed_hosts_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMTRACE_ALLOWED_HOSTS", "a.example.com, b.example.com")
    assert Settings(_env_file=None).allowed_hosts == ["a.example.com", "b.example.com"]  # type: ignore[call-arg]

"""The request log's "agent" column for a real agent's requests: after the
agent answered, `GET /api/requests` of the same `tokenbuddy serve` has a row
named for it (`src/proxy/client_agent.rs` names it from the headers).

Called last in each real-agent test, so every other check of the test has
run first. A row is written when the agent's request ends — often when the
agent exits and closes its connection — and the store writes in batches of
up to 100 ms, so the row is waited for (up to 10 s), not expected at once.
"""

from __future__ import annotations

import time

import pytest

from harness import Demo


def assert_agent_logged(server: Demo, agent_id: str) -> None:
    """A row of the latest 50 in the request log has `agent == agent_id`."""
    deadline = time.monotonic() + 10
    while True:
        answer = server._api("GET", "/api/requests?limit=50")
        rows = answer.get("requests") if isinstance(answer, dict) else None
        assert isinstance(rows, list), f"GET /api/requests: no `requests` list in {answer!r}"
        if any(r.get("agent") == agent_id for r in rows):
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    seen = [(r.get("agent"), r.get("modelAsked"), r.get("endpoint")) for r in rows]
    pytest.fail(
        f"no request-log row with agent {agent_id!r} among the latest {len(rows)}: {seen}\n"
        f"demo sellers received:\n{server.requests_text()}"
    )

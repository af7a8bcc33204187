"""The request log's "agent" column for a real agent's requests: after the
agent answered, `GET /api/requests` of the same `tokenbuddy serve` has a row
named for it (`src/proxy/client_agent.rs` names it from the headers).

Called last in each real-agent test, so every other check of the test has
run first. A build without the request log answers 404 there: the test is
then skipped with that reason, never passed silently.
"""

from __future__ import annotations

import urllib.error

import pytest

from harness import Demo


def assert_agent_logged(server: Demo, agent_id: str) -> None:
    """A row of the latest 50 in the request log has `agent == agent_id`."""
    try:
        answer = server._api("GET", "/api/requests?limit=50")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            pytest.skip(
                f"GET /api/requests answered 404: this build has no request log yet (issue 9), "
                f"so the agent column ({agent_id!r}) is not checked; everything else in the test passed"
            )
        raise
    rows = answer.get("requests") if isinstance(answer, dict) else None
    assert isinstance(rows, list), f"GET /api/requests: no `requests` list in {answer!r}"
    if any(r.get("agent") == agent_id for r in rows):
        return
    seen = [(r.get("agent"), r.get("modelAsked"), r.get("endpoint")) for r in rows]
    pytest.fail(
        f"no request-log row with agent {agent_id!r} among the latest {len(rows)}: {seen}\n"
        f"demo sellers received:\n{server.requests_text()}"
    )

"""The OpenAPI document at `/api/openapi.json` tells the truth about the
real `/api`: it is the document `tokenbuddy openapi` prints (the one the
UI's types are generated from), and every answer of a real `serve --demo`
— pages, stats, agents, errors and the event stream's snapshot — validates
against the schema the document gives for it, with no property missing
and none undocumented."""

import copy
import json
import pathlib
import subprocess
import urllib.error
import urllib.request

import jsonschema
import pytest

from conftest import _binary


def _call(server, path, method="GET", body=None):
    req = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _strict(doc):
    """A copy of the document in which an object may hold only the
    properties its schema names (so an undocumented field fails too)."""
    doc = copy.deepcopy(doc)
    schemas = doc["components"]["schemas"]
    # A schema that is a part of an allOf is checked through its whole.
    parts = {
        item["$ref"].rsplit("/", 1)[1]
        for s in schemas.values()
        for item in s.get("allOf", [])
        if "$ref" in item
    }

    def walk(node, top, part=False):
        if isinstance(node, dict):
            if "allOf" in node:
                node["unevaluatedProperties"] = False
                for item in node["allOf"]:
                    walk(item, top, part=True)
            elif "properties" in node and top not in parts and not part:
                node["unevaluatedProperties"] = False
            for k, v in node.items():
                if k != "allOf":
                    walk(v, top)
        elif isinstance(node, list):
            for v in node:
                walk(v, top)

    for name, schema in schemas.items():
        walk(schema, name)
    return doc


@pytest.fixture(scope="module")
def doc(server):
    status, served = _call(server, "/api/openapi.json")
    assert status == 200
    return served


def _check(doc, pointer, instance):
    """Validates `instance` against the schema at `pointer` in the document."""
    root = _strict(doc)
    root["$ref"] = pointer
    jsonschema.Draft202012Validator(root).validate(instance)


def _response_pointer(doc, path, method, status):
    op = doc["paths"][path][method]
    assert str(status) in op["responses"], f"{method.upper()} {path} answered {status}, undocumented"
    # JSON Pointer escaping: ~1 for "/", ~0 for "~".
    esc = path.replace("~", "~0").replace("/", "~1")
    return f"#/paths/{esc}/{method}/responses/{status}/content/application~1json/schema"


def test_the_served_document_is_the_one_the_ui_types_come_from(doc):
    printed = subprocess.run(
        [_binary(), "openapi"], capture_output=True, text=True, check=True
    ).stdout
    assert doc == json.loads(printed)
    with open(pathlib.Path(__file__).parents[2] / "ui" / "openapi.json") as committed:
        assert doc == json.load(committed), "ui/openapi.json is stale: run npm run gen:api"


def test_every_read_validates_against_its_documented_schema(server, oai, doc):
    # A few requests first, so the log, usage and history have rows.
    for _ in range(3):
        oai.chat.completions.create(model="gpt-demo", messages=[{"role": "user", "content": "hi"}])
    reads = [
        ("/api/sellers", ""),
        ("/api/routing", ""),
        ("/api/proxy", ""),
        ("/api/route-plan", "?model=gpt-demo&protocol=openai-chat"),
        ("/api/scheduler", ""),
        ("/api/requests", "?limit=5"),
        ("/api/usage", "?by=seller"),
        ("/api/history", ""),
        ("/api/store", ""),
        ("/api/agents", ""),
        ("/api/agents/drift", ""),
        ("/api/terminals", ""),
        ("/api/doctor", ""),
        ("/api/notices", ""),
        ("/api/demo/requests", ""),
        ("/api/desktop", ""),
    ]
    for path, query in reads:
        status, body = _call(server, path + query)
        assert status == 200, (path, body)
        _check(doc, _response_pointer(doc, path, "get", 200), body)
    _, page = _call(server, "/api/requests?limit=1")
    row_id = page["requests"][0]["id"]
    status, row = _call(server, f"/api/requests/{row_id}")
    _check(doc, _response_pointer(doc, "/api/requests/{id}", "get", status), row)
    assert row["attempts"], "a served row has its trail"


def test_errors_validate_against_the_documented_error_body(server, doc):
    for path, url, method, body in [
        ("/api/requests/{id}", "/api/requests/999999999", "get", None),
        ("/api/agents/{id}/configure", "/api/agents/no-such-agent/configure", "post", {"dryRun": True}),
        ("/api/routing", "/api/routing", "put", {"mode": "sideways"}),
        ("/api/sellers/{id}", "/api/sellers/no-such-seller", "delete", None),
    ]:
        status, answer = _call(server, url, method.upper(), body)
        assert status >= 400, (path, answer)
        _check(doc, _response_pointer(doc, path, method, status), answer)
        assert answer["error"]["message"]


def test_the_event_streams_snapshot_validates_against_its_schema(server, doc):
    req = urllib.request.Request(
        server.url + "/api/events", headers={"Authorization": f"Bearer {server.token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        event, data = None, []
        for raw in resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
            elif line == "" and event:
                break
    assert event == "snapshot"
    _check(doc, "#/components/schemas/SnapshotEvent", json.loads("\n".join(data)))

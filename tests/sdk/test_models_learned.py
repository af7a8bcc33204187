"""Learned models through the official SDKs: a seller whose sellers-file
entry declares no models reports its own `/v1/models` (a stub seller here, the
outside world), and `models.list()` of both SDKs, pointed at a real
`tokenbuddy serve`, returns those ids."""

import http.server
import json
import threading
import time

import anthropic
import openai
import pytest

from conftest import serve_sellers

LEARNED = ["m-a", "m-b"]


class _Seller(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        body = json.dumps(
            {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "stub"} for m in LEARNED]}
        ).encode()
        self.send_response(200 if self.path.startswith("/v1/models") else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


@pytest.fixture(scope="module")
def learned_server():
    seller = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Seller)
    threading.Thread(target=seller.serve_forever, daemon=True).start()
    sellers = (
        "sellers:\n"
        f"  - id: stub\n    base_url: http://127.0.0.1:{seller.server_port}/v1\n"
        "    api_key: sk-stub\n    protocols: [openai-chat, anthropic-messages]\n"
    )
    try:
        with serve_sellers(sellers, "tokenbuddy-sdk-learned-") as served:
            yield served
    finally:
        seller.shutdown()


def _until_listed(list_ids):
    # The first probe runs within seconds of start; wait on the list itself.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ids = list_ids()
        if set(LEARNED) <= set(ids):
            return ids
        time.sleep(0.1)
    raise AssertionError(f"learned models never listed: {list_ids()}")


def test_openai_sdk_lists_learned_models(learned_server):
    url, token = learned_server
    oai = openai.OpenAI(base_url=url + "/v1", api_key=token, max_retries=0)
    assert sorted(_until_listed(lambda: [m.id for m in oai.models.list()])) == LEARNED
    raw = oai.models.list().data[0].model_extra
    assert raw["tokenbuddy"] == {"source": "learned", "sellers": ["stub"]}


def test_anthropic_sdk_lists_learned_models(learned_server):
    url, token = learned_server
    ant = anthropic.Anthropic(base_url=url, api_key=token, max_retries=0)
    assert sorted(_until_listed(lambda: [m.id for m in ant.models.list().data])) == LEARNED
    page = ant.models.list()
    assert page.has_more is False
    assert page.first_id == "m-a" and page.last_id == "m-b"

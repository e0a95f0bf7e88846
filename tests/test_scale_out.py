"""Several server processes share one database and fan out through Redis."""

import shutil
import subprocess
import time

import pytest
import requests
import socketio

from conftest import LiveServer, free_port, make_config

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="needs Debian's redis-server (installed by scripts/setup.sh --test)")


@pytest.fixture
def redis_url(tmp_path):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                             text=True)
        if out.stdout.strip() == "PONG":
            break
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_a_call_on_one_process_reaches_a_display_on_another(tmp_path, redis_url):
    config = make_config(tmp_path, {"server": {"async_mode": "gevent",
                                               "message_queue": redis_url}})
    first, second = LiveServer(config).start(), LiveServer(config).start()
    display = socketio.SimpleClient()
    try:
        display.connect(second.url, transports=["websocket"])
        assert display.call("join", {"room": "display"}, timeout=10)["ok"] is True
        assert display.receive(timeout=5)[0] == "snapshot"
        ticket = requests.post(second.url + "/api/tickets", json={"service": "quoc-tich"},
                               timeout=10).json()
        officer = first.login("can-bo-an")
        assert officer.post(first.url + "/api/counters/1/open", timeout=10).ok
        called = officer.post(first.url + "/api/counters/1/next", timeout=10).json()
        assert called["ticket"]["number"] == ticket["number"]  # one database
        while True:
            name, payload = display.receive(timeout=5)
            if name == "ticket_called":
                break
        assert payload["number"] == ticket["number"] and payload["counter"] == 1
        # The display asks its own process for the sound the other process voiced.
        audio = requests.get(second.url + payload["audio_url"], timeout=15)
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    finally:
        display.disconnect()
        first.kill()
        second.kill()

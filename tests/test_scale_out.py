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


def speaker(url, zone="A", name=""):
    """A display of ``zone`` on the server at ``url`` that asked to speak; returns (client,
    whether it speaks)."""
    client = socketio.SimpleClient()
    client.connect(url, transports=["websocket"])
    assert client.call("join", {"room": f"display:{zone}"}, timeout=10)["ok"] is True
    answer = client.call("speaker", {"zone": zone, "name": name}, timeout=10)
    assert answer["ok"] is True, answer
    return client, answer["speaking"]


def told_to_speak(client, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            name, payload = client.receive(timeout=max(0.1, deadline - time.monotonic()))
        except socketio.exceptions.TimeoutError:
            break
        if name == "speaker":
            return payload["speaking"]
    return None


def test_a_zone_has_one_voice_whichever_process_its_displays_reached(tmp_path, redis_url):
    config = make_config(tmp_path, {"server": {"async_mode": "gevent",
                                               "message_queue": redis_url}})
    first, second = LiveServer(config).start(), LiveServer(config).start()
    clients = []
    try:
        a, a_speaks = speaker(first.url)
        b, b_speaks = speaker(second.url)
        c, c_speaks = speaker(second.url, zone="B")
        clients += [a, b, c]
        assert (a_speaks, b_speaks, c_speaks) == (True, False, True)
        a.disconnect()  # the voice of zone A leaves: the display on the other process speaks
        assert told_to_speak(b, timeout=10) is True
        d, d_speaks = speaker(first.url)
        clients.append(d)
        assert d_speaks is False
        # The process holding zone A's voice dies without a word: within a few heartbeats
        # the other process drops its displays and zone A speaks again.
        e, e_speaks = speaker(first.url, zone="B")
        clients.append(e)
        assert e_speaks is False
        second.kill()
        assert told_to_speak(d, timeout=20) is True
        assert told_to_speak(e, timeout=5) is True
    finally:
        for client in clients:
            try:
                client.disconnect()
            except Exception:
                pass
        first.kill()
        second.kill()

"""Starting the real server as an operator would."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import requests
import socketio

from conftest import ROOT, free_port


def start(config, env_extra=None):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "QMS_ADMIN_PASSWORD"}
    env.update(env_extra or {}, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "--config", str(config),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT,
                            # as from a terminal, even when the tests run in the background
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/api/services", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(proc.communicate()[0])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=10)[0]


def test_the_first_start_prints_a_generated_admin_password_once(live_config):
    proc, url = start(live_config)
    output = stop(proc)
    password = re.search(r"Created user 'admin' with password: (\S+)", output)[1]
    proc, url = start(live_config)
    try:
        r = requests.post(url + "/api/login", json={"username": "admin",
                                                    "password": password}, timeout=5)
        assert r.status_code == 200 and r.json()["user"]["role"] == "admin"
    finally:
        assert "Created user 'admin'" not in stop(proc)


def test_the_admin_password_can_come_from_the_environment(live_config):
    proc, url = start(live_config, {"QMS_ADMIN_PASSWORD": "mot-mat-khau-manh"})
    try:
        r = requests.post(url + "/api/login", json={"username": "admin",
                                                    "password": "mot-mat-khau-manh"},
                          timeout=5)
        assert r.status_code == 200
    finally:
        assert "Created user 'admin'" not in stop(proc)


def test_the_shipped_config_serves_the_hcmc_center(tmp_path):
    import yaml
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["server"]["data_dir"] = str(tmp_path / "data")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    proc, url = start(config, {"QMS_ADMIN_PASSWORD": "mot-mat-khau-manh"})
    try:
        services = requests.get(url + "/api/services", timeout=5).json()["services"]
        assert len(services) >= 90 and all(s["open"] for s in services)
        counters = requests.get(url + "/api/counters", timeout=5).json()["counters"]
        assert len(counters) == 67
        t = requests.post(url + "/api/tickets", json={"service": "dat-dai"}, timeout=5).json()
        assert t["number"] == "MA001" and t["zone"] == "B"
    finally:
        stop(proc)


def test_ctrl_c_stops_the_server_with_one_line_not_a_traceback(live_config):
    proc, url = start(live_config)
    display = socketio.SimpleClient()  # a hall TV connected, and requests under way
    display.connect(url, transports=["websocket"])
    display.call("join", {"room": "display"}, timeout=10)
    busy = threading.Event()

    def ask():
        while not busy.is_set():
            try:
                requests.get(url + "/api/display", timeout=2)
            except requests.RequestException:
                return

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for t in askers:
        t.start()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=15)[0]
    busy.set()
    for t in askers:
        t.join(5)
    display.disconnect()
    assert proc.returncode == 0, output
    assert output.rstrip().endswith("INFO qms: stopped")
    assert "Traceback" not in output

"""The API reference and the README stay true: every route and event is documented."""

import re
import subprocess
from pathlib import Path

from qms.domain import events

ROOT = Path(__file__).resolve().parent.parent
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "<id>" if m[1] == "counter_id"
                          else f"<{m[1]}>", rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield f"{method} {path}"


def test_every_api_route_is_in_the_api_reference(app):
    found = list(routes(app))
    assert len(found) > 20
    missing = [r for r in found if f"`{r}`" not in API and f"`{r}?" not in API]
    assert missing == []


def test_every_socket_event_is_in_the_api_reference():
    names = {cls.event_name() for cls in vars(events).values()
             if isinstance(cls, type) and issubclass(cls, events.Event)
             and cls not in (events.Event, events.TicketEvent)}
    names |= {"snapshot", "join", "leave"}
    assert len(names) > 12
    assert [n for n in sorted(names) if f"`{n}`" not in API] == []


def test_every_room_is_in_the_api_reference():
    for room in ("display", "display:<zone>", "kiosk", "ticket:<token>", "counter:<id>",
                 "dashboard", "rate:<counter>"):
        assert f"`{room}`" in API


def block_after(marker):
    found = re.search(rf"<!-- {marker} -->\n```sh\n(.+?)\n```", README, re.S)
    assert found, f"README.md needs a ```sh block right after <!-- {marker} -->"
    return found[1].strip()


def test_the_readme_opens_with_the_run_and_test_commands():
    run, test = block_after("run"), block_after("test")
    assert README.index("<!-- test -->") < 1500
    assert "scripts/setup.sh" in run and "server.py" in run
    assert "scripts/setup.sh" in test and "pytest -W error" in test


def test_ci_runs_the_test_command_written_in_the_readme():
    ci = (ROOT / ".ci" / "run").read_text()
    awk = re.search(r"awk '(.+?)' README.md", ci, re.S)[1]
    out = subprocess.run(["awk", awk, "README.md"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == block_after("test")

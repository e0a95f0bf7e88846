"""Settings: the shipped config loads, every mistake is named by its key path, defaults are
filled in, and the server refuses a bad config with one line on standard error."""

import copy
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SMALL
from qms import settings


def small():
    return copy.deepcopy(SMALL)


def write(path, raw):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


# -- the shipped config -------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return settings.load(ROOT / "config.yaml")


def test_the_shipped_config_describes_the_hcmc_center(shipped):
    assert [z["id"] for z in shipped["zones"]] == ["A", "A1", "A2", "B", "B1", "B2"]
    assert len(shipped["departments"]) == 16
    assert len(shipped["counters"]) == 67
    assert sum(c["active"] for c in shipped["counters"]) == 61
    assert shipped["center"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert shipped["printer"]["driver"] == "none"


def test_the_shipped_config_serves_every_service_at_an_active_counter(shipped):
    services = {s["id"] for d in shipped["departments"] for s in d["services"]}
    served = {ref["service"] for c in shipped["counters"] if c["active"]
              for ref in c["services"]}
    assert services - served == set()


def test_the_shipped_config_gives_every_service_its_own_prefix(shipped):
    prefixes = [s["prefix"] for d in shipped["departments"] for s in d["services"]]
    assert len(prefixes) == len(set(prefixes))


def test_the_shipped_config_has_an_active_priority_counter(shipped):
    assert any(c["priority"] and c["active"] for c in shipped["counters"])


def test_the_shipped_config_is_the_demo_that_works_at_any_hour_without_secrets(shipped):
    assert shipped["hours"]["enforce"] is False
    assert shipped["issuing"]["open_to_lan"] is True
    assert shipped["server"]["data_dir"] == str((ROOT / "instance").resolve())


# -- mistakes, each named by its key path ---------------------------------------------------

def _set(path, value):
    """A change to SMALL: set the value at a path of keys and list indexes."""
    def change(raw):
        node = raw
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return change


def _delete(key):
    def change(raw):
        del raw[key]
    return change


def _kiosks_without_secret(raw):
    raw["issuing"] = {"open_to_lan": False}
    raw["kiosks"] = [{"id": "kiosk-1"}]


def _no_services(raw):
    for department in raw["departments"]:
        department["services"] = []
    for counter in raw["counters"]:
        counter["services"] = []


UNQUOTED_TIME = yaml.safe_load("close: 13:00")["close"]  # YAML 1.1 base 60: 780

BAD = [
    pytest.param(_set(["colour"], "red"), "colour: unknown key", id="unknown top-level key"),
    pytest.param(_set(["server", "prot"], 5000), "server.prot: unknown key",
                 id="unknown nested key"),
    pytest.param(_set(["departments", 0, "services", 1, "prefx"], "PB"),
                 "departments[0].services[1].prefx: unknown key", id="unknown key in a list"),
    pytest.param(_set(["server", "port"], "abc"), "server.port: expected int, got str 'abc'",
                 id="string where int expected"),
    pytest.param(_set(["queue"], {"priority_ratio": True}),
                 "queue.priority_ratio: expected int, got bool True",
                 id="bool where int expected"),
    pytest.param(_set(["server", "port"], 0), "server.port: expected at least 1, got 0",
                 id="int below its minimum"),
    pytest.param(_set(["server", "cookie_secure"], "yes"),
                 "server.cookie_secure: expected bool, got str 'yes'",
                 id="string where bool expected"),
    pytest.param(_set(["server"], ["host"]), "server: expected a mapping, got list",
                 id="list where section expected"),
    pytest.param(_set(["counters"], "1, 2"), "counters: expected a list, got str",
                 id="string where list expected"),
    pytest.param(_set(["center", "name"], {"en": "Test center"}),
                 "center.name: expected text or {vi: ..., en: ...}", id="text without vi"),
    pytest.param(_set(["counters", 0, "services", 0], "xyz"),
                 "counters[0].services[0]: unknown service 'xyz'",
                 id="counter naming an unknown service"),
    pytest.param(_set(["departments", 1, "services", 0, "prefix"], "PA"),
                 "departments[1].services[0].prefix: duplicate prefix 'PA' "
                 "(also service 'quoc-tich')", id="duplicate prefix"),
    pytest.param(_set(["departments", 1, "services", 0, "id"], "quoc-tich"),
                 "departments[1].services[0].id: duplicate service 'quoc-tich'",
                 id="duplicate service id in another department"),
    pytest.param(_set(["departments", 0, "services", 1, "id"], "quoc-tich"),
                 "departments[0].services[1].id: duplicate service 'quoc-tich'",
                 id="duplicate service id in one department"),
    pytest.param(_set(["departments", 1, "id"], "tu-phap"),
                 "departments[1].id: duplicate department 'tu-phap'",
                 id="duplicate department id"),
    pytest.param(_set(["counters", 4, "id"], 1), "counters[4].id: duplicate counter 1",
                 id="duplicate counter id"),
    pytest.param(_set(["zones", 1, "id"], "A"), "zones[1].id: duplicate zone 'A'",
                 id="duplicate zone id"),
    pytest.param(_set(["zones"], []), "zones: at least one zone is required", id="no zone"),
    pytest.param(_set(["departments", 0, "zone"], "C"),
                 "departments[0].zone: unknown zone 'C'", id="unknown zone on a department"),
    pytest.param(_set(["departments", 0, "services", 1, "zone"], "C"),
                 "departments[0].services[1].zone: unknown zone 'C'",
                 id="unknown zone on a service"),
    pytest.param(_set(["counters", 0, "zone"], "C"), "counters[0].zone: unknown zone 'C'",
                 id="unknown zone on a counter"),
    pytest.param(_set(["kiosks"], [{"id": "kiosk-1", "zone": "C"}]),
                 "kiosks[0].zone: unknown zone 'C'", id="unknown zone on a kiosk"),
    pytest.param(_set(["kiosks"], [{"id": "kiosk-1"}, {"id": "kiosk-1"}]),
                 "kiosks[1].id: duplicate kiosk 'kiosk-1'", id="duplicate kiosk id"),
    pytest.param(_set(["hours"], {"daily_reset": "25:00"}),
                 "hours.daily_reset: expected a time HH:MM, got '25:00'", id="hour 25"),
    pytest.param(_set(["hours"], {"issuing": [{"open": "07:30", "close": "11:60"}]}),
                 "hours.issuing[0].close: expected a time HH:MM, got '11:60'",
                 id="minute 60"),
    pytest.param(_set(["hours"], {"issuing": [{"open": "7:30", "close": "11:00"}]}),
                 "hours.issuing[0].open: expected a time HH:MM, got '7:30'",
                 id="time without its leading zero"),
    pytest.param(_set(["hours"], {"sessions": [{"open": "13:00", "close": UNQUOTED_TIME}]}),
                 "hours.sessions[0].close: expected a time HH:MM, got 780",
                 id="unquoted YAML time read as a base-60 number"),
    pytest.param(_set(["hours"], {"sessions": [{"open": "07:30"}]}),
                 "hours.sessions[0].close: required key is missing", id="window without end"),
    pytest.param(_set(["hours"], {"days": ["mon", "sun", "funday"]}),
                 "hours.days[2]: expected one of mon, tue, wed, thu, fri, sat, sun, "
                 "got 'funday'", id="bad weekday"),
    pytest.param(_set(["hours"], {"days": ["Mon"]}),
                 "hours.days[0]: expected one of mon, tue, wed, thu, fri, sat, sun, "
                 "got 'Mon'", id="capitalised weekday"),
    pytest.param(_set(["departments", 0, "services", 0, "prefix"], "pa"),
                 "departments[0].services[0].prefix: expected capital Vietnamese letters "
                 "(no F, J, W, Z), got 'pa'", id="lowercase prefix"),
    pytest.param(_set(["departments", 0, "services", 0, "prefix"], "FA"),
                 "departments[0].services[0].prefix: expected capital Vietnamese letters "
                 "(no F, J, W, Z), got 'FA'", id="prefix with F"),
    pytest.param(_set(["departments", 0, "services", 0, "prefix"], "P1"),
                 "departments[0].services[0].prefix: expected capital Vietnamese letters "
                 "(no F, J, W, Z), got 'P1'", id="prefix with a digit"),
    pytest.param(_set(["departments", 0, "services", 0, "prefix"], ""),
                 "departments[0].services[0].prefix: expected capital Vietnamese letters "
                 "(no F, J, W, Z), got ''", id="empty prefix"),
    pytest.param(_delete("zones"), "zones: required key is missing", id="missing zones"),
    pytest.param(_delete("center"), "center: required key is missing", id="missing center"),
    pytest.param(_set(["departments", 0, "services", 0], {"id": "quoc-tich", "prefix": "PA"}),
                 "departments[0].services[0].name: required key is missing",
                 id="service without a name"),
    pytest.param(_set(["printer"], {"driver": "network"}),
                 "printer.host: required for driver network",
                 id="network printer without a host"),
    pytest.param(_set(["printer"], {"driver": "usb"}),
                 "printer.device: driver usb needs a device or vendor_id and product_id",
                 id="usb printer without a device or ids"),
    pytest.param(_set(["printer"], {"driver": "laser"}),
                 "printer.driver: expected one of none, network, usb, serial, cups, file, "
                 "got 'laser'", id="unknown printer driver"),
    pytest.param(_set(["printer"], {"width": 500}),
                 "printer.width: expected one of 384, 512, 576, got 500",
                 id="printer width not a thermal width"),
    pytest.param(_set(["kiosks"], [{"id": "k", "printer": {"driver": "serial"}}]),
                 "kiosks[0].printer.device: required for driver serial",
                 id="kiosk printer without its device"),
    pytest.param(_set(["kiosks"], [{"id": "k", "services": ["xyz"]}]),
                 "kiosks[0].services[0]: unknown service 'xyz'",
                 id="kiosk offering an unknown service"),
    pytest.param(_kiosks_without_secret,
                 "kiosks[0].secret: required when issuing.open_to_lan is false",
                 id="kiosk without secret when issuing is closed to the LAN"),
    pytest.param(_set(["center", "timezone"], "Mars/Base"),
                 "center.timezone: unknown time zone 'Mars/Base'", id="unknown time zone"),
    pytest.param(_set(["counters", 0, "services", 0], {"service": "quoc-tich", "weight": 0}),
                 "counters[0].services[0]: expected a service id or "
                 "{service: id, weight: N > 0}", id="weight zero"),
    pytest.param(_set(["counters", 0, "services", 1], {"service": "cong-chung", "weight": -2}),
                 "counters[0].services[1]: expected a service id or "
                 "{service: id, weight: N > 0}", id="negative weight"),
    pytest.param(_set(["counters", 0, "services", 0], {"service": "quoc-tich",
                                                       "weight": True}),
                 "counters[0].services[0]: expected a service id or "
                 "{service: id, weight: N > 0}", id="bool weight"),
    pytest.param(_set(["counters", 0, "services", 0], {"service": "quoc-tich"}),
                 "counters[0].services[0]: expected a service id or "
                 "{service: id, weight: N > 0}", id="service mapping without weight"),
    pytest.param(_set(["counters", 0, "services"], ["quoc-tich", "quoc-tich"]),
                 "counters[0].services[1]: service 'quoc-tich' listed twice",
                 id="service listed twice on one counter"),
    pytest.param(_set(["counters", 0, "services"],
                      ["quoc-tich", {"service": "quoc-tich", "weight": 2}]),
                 "counters[0].services[1]: service 'quoc-tich' listed twice",
                 id="service listed twice once with a weight"),
    pytest.param(_set(["counters", 0, "services"], []),
                 "counters[0].services: a counter serves at least one service",
                 id="counter without services"),
    pytest.param(_no_services, "departments: at least one service is required",
                 id="center without services"),
    pytest.param(_set(["server", "port"], 70000), "server.port: expected at most 65535, "
                 "got 70000", id="port above 65535"),
    pytest.param(_set(["counters", 0, "services", 0], {"service": "quoc-tich",
                                                      "weight": float("inf")}),
                 "counters[0].services[0]: expected a service id or "
                 "{service: id, weight: N > 0}", id="infinite weight"),
    pytest.param(_set(["hours"], {"issuing": [{"open": "17:00", "close": "08:00"}]}),
                 "hours.issuing[0]: open (17:00) must be before close (08:00)",
                 id="issuing window that never opens"),
    pytest.param(_set(["speech"], {"template_vi": "Mời số {so}"}),
                 "speech.template_vi: only {number} and {counter} may be used, got "
                 "'Mời số {so}'", id="speech template with an unknown placeholder"),
    pytest.param(_set(["issuing"], {"open_to_lan": False}),
                 "kiosks: at least one kiosk is needed when issuing.open_to_lan is false",
                 id="closed issuing without any kiosk"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_a_bad_config_is_refused_with_a_message_naming_the_key(change, message):
    raw = small()
    change(raw)
    with pytest.raises(settings.ConfigError) as exc:
        settings.validate(raw)
    assert str(exc.value) == message


def test_a_document_that_is_not_a_mapping_is_refused():
    with pytest.raises(settings.ConfigError) as exc:
        settings.validate(["center"])
    assert str(exc.value) == "config: expected a mapping, got list"


@pytest.mark.parametrize("prefix", ["P", "ĐA", "XYK", "ABCDĐEGHKLMNPQRSTUVXY"],
                         ids=["one letter", "with Đ", "three letters", "every letter"])
def test_a_prefix_of_capital_vietnamese_letters_is_accepted(prefix):
    raw = small()
    raw["departments"][0]["services"][0]["prefix"] = prefix
    cfg = settings.validate(raw)
    assert cfg["departments"][0]["services"][0]["prefix"] == prefix


def test_kiosks_with_secrets_are_accepted_when_issuing_is_closed_to_the_lan():
    raw = small()
    raw["issuing"] = {"open_to_lan": False}
    raw["kiosks"] = [{"id": "kiosk-1", "secret": "s3cret", "zone": "A"}]
    assert settings.validate(raw)["kiosks"][0]["secret"] == "s3cret"


# -- defaults and normalised values -------------------------------------------------------

def test_defaults_are_filled_in():
    cfg = settings.validate(small())
    assert cfg["queue"]["recall_limit"] == 3
    assert cfg["queue"]["priority_ratio"] == 3
    assert cfg["queue"]["transfer_position"] == "front"
    assert cfg["server"]["port"] == 5000
    assert cfg["server"]["host"] == "0.0.0.0"
    assert cfg["server"]["data_dir"] == "instance"
    assert cfg["server"]["session_hours"] == 12.0
    assert cfg["center"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert cfg["center"]["default_language"] == "vi"
    assert cfg["hours"] == {"enforce": False, "days": ["mon", "tue", "wed", "thu", "fri"],
                            "sessions": [], "issuing": [], "daily_reset": "00:00"}
    assert cfg["issuing"] == {"open_to_lan": True, "daily_limit": 0, "number_digits": 3}
    assert cfg["printer"]["driver"] == "none" and cfg["printer"]["width"] == 576
    assert cfg["printer"]["port"] == 9100 and cfg["printer"]["timeout_s"] == 5.0
    assert cfg["kiosk"] == {"return_after_s": 20.0, "priority": True,
                            "ticket_footer": {"vi": "", "en": ""}}
    assert cfg["speech"]["engine"] == "espeak" and cfg["speech"]["chime"] is True
    assert [r["vi"] for r in cfg["console"]["pause_reasons"]][:2] == ["Nghỉ giải lao", "Họp"]
    assert cfg["kiosks"] == []
    assert cfg["zones"][0] == {"id": "A", "floor": 1, "name": {"vi": "", "en": ""},
                               "speaker": ""}
    counter = cfg["counters"][0]
    assert (counter["priority"], counter["active"]) == (False, True)
    service = cfg["departments"][0]["services"][0]
    assert (service["zone"], service["daily_limit"], service["sla_min"],
            service["expected_service_min"]) == ("", 0, 20.0, 0.0)


def test_a_given_value_overrides_only_its_own_default():
    raw = small()
    raw["queue"] = {"recall_limit": 0}
    cfg = settings.validate(raw)
    assert cfg["queue"]["recall_limit"] == 0
    assert cfg["queue"]["priority_ratio"] == 3


def test_defaults_are_fresh_copies_for_every_load():
    first = settings.validate(small())
    first["hours"]["days"].append("sat")
    first["kiosks"].append({"id": "x"})
    second = settings.validate(small())
    assert second["hours"]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert second["kiosks"] == []


def test_a_text_given_as_one_string_is_used_for_both_languages():
    cfg = settings.validate(small())
    assert cfg["departments"][0]["name"] == {"vi": "Sở Tư pháp", "en": "Sở Tư pháp"}


def test_a_text_given_in_vietnamese_only_repeats_it_in_english():
    raw = small()
    raw["center"]["name"] = {"vi": "Trung tâm"}
    assert settings.validate(raw)["center"]["name"] == {"vi": "Trung tâm", "en": "Trung tâm"}


def test_a_text_given_in_both_languages_is_kept():
    cfg = settings.validate(small())
    assert cfg["center"]["name"] == {"vi": "Trung tâm thử nghiệm", "en": "Test center"}


def test_counter_services_become_references_with_an_optional_float_weight():
    raw = small()
    raw["counters"][0]["services"] = [{"service": "quoc-tich", "weight": 2}, "cong-chung"]
    cfg = settings.validate(raw)
    assert cfg["counters"][0]["services"] == [{"service": "quoc-tich", "weight": 2.0},
                                              {"service": "cong-chung", "weight": None}]
    assert cfg["counters"][1]["services"][0] == {"service": "cong-chung", "weight": None}


def test_float_keys_accept_integers_and_give_floats():
    raw = small()
    raw["queue"] = {"default_service_min": 7}
    value = settings.validate(raw)["queue"]["default_service_min"]
    assert value == 7.0
    assert isinstance(value, float)


# -- loading a file -----------------------------------------------------------------------

def test_a_relative_data_dir_is_resolved_against_the_config_folder(tmp_path, monkeypatch):
    raw = small()
    raw["server"]["data_dir"] = "data"
    path = write(tmp_path / "site" / "config.yaml", raw)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert settings.load(path)["server"]["data_dir"] == str(tmp_path / "site" / "data")


def test_a_relative_config_path_still_puts_data_next_to_the_config(tmp_path, monkeypatch):
    write(tmp_path / "site" / "config.yaml", small())
    monkeypatch.chdir(tmp_path)
    cfg = settings.load("site/config.yaml")
    assert cfg["server"]["data_dir"] == str((tmp_path / "site" / "instance").resolve())


def test_an_absolute_data_dir_is_kept(tmp_path):
    raw = small()
    raw["server"]["data_dir"] = str(tmp_path / "var" / "qms")
    path = write(tmp_path / "config.yaml", raw)
    assert settings.load(path)["server"]["data_dir"] == str(tmp_path / "var" / "qms")


def test_a_file_that_is_not_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("center: {name: x\nzones: [\n", encoding="utf-8")
    with pytest.raises(settings.ConfigError, match="not valid YAML"):
        settings.load(path)


def test_a_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "missing.yaml"
    with pytest.raises(settings.ConfigError) as exc:
        settings.load(path)
    assert str(exc.value) == f"{path}: cannot read (No such file or directory)"


# -- the server refuses to start ------------------------------------------------------------

def start_server(config_path):
    return subprocess.run([sys.executable, "server.py", "--config", str(config_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_server_refuses_a_bad_config_with_one_line_naming_the_key(tmp_path):
    raw = small()
    raw["server"]["data_dir"] = str(tmp_path / "data")
    raw["counters"][0]["services"][0] = "xyz"
    run = start_server(write(tmp_path / "bad.yaml", raw))
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "config error: counters[0].services[0]: unknown service 'xyz'"]
    assert not (tmp_path / "data").exists()


def test_the_server_refuses_a_missing_config_file_with_one_line(tmp_path):
    path = tmp_path / "missing.yaml"
    run = start_server(path)
    assert run.returncode != 0
    assert run.stderr.splitlines() == [
        f"config error: {path}: cannot read (No such file or directory)"]


def test_the_server_refuses_a_file_that_is_not_yaml_with_one_clear_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("center: {name: x\nzones: [\n", encoding="utf-8")
    run = start_server(path)
    assert run.returncode != 0
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"config error: {path}: not valid YAML")
    assert "line 2" in lines[0]

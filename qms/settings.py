"""Settings, declared once with type, default and help, loaded from config.yaml.

`SCHEMA` is the single description of every key: validation walks it, the config
reference (docs/config.md) documents it, and a test checks the two agree. Errors name
the key path and what was expected, e.g. ``counters[12].services[0]: unknown service 'xyz'``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REQUIRED = object()
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VIETNAMESE_LETTERS = set("ABCDĐEGHIKLMNOPQRSTUVXY")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the expected value."""


@dataclass(frozen=True)
class Key:
    """One configuration key: its kind, default and one line of help."""

    kind: str  # str, int, float, bool, time, text, list, section, choice, service_ref
    help: str
    default: object = REQUIRED
    choices: tuple = ()
    item: Key | None = None  # for lists
    fields: dict = field(default_factory=dict)  # for sections
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False


def section(help, fields, default=REQUIRED, nullable=False):
    return Key("section", help, default=default, fields=fields, nullable=nullable)


def text_key(help, default=REQUIRED):
    return Key("text", help, default=default)


_SESSION = section("A time window.", {
    "open": Key("time", "Start, HH:MM local time."),
    "close": Key("time", "End, HH:MM local time (exclusive)."),
})

_PRINTER_FIELDS = {
    "driver": Key("choice", "Printer transport: `network` (TCP, port 9100), `usb`, `serial`, "
                  "`cups`, `file`, or `none` (tickets on screen only).", default="none",
                  choices=("none", "network", "usb", "serial", "cups", "file")),
    "host": Key("str", "network: the printer's address.", default=""),
    "port": Key("int", "network: TCP port.", default=9100, minimum=1, maximum=65535),
    "device": Key("str", "usb: the device file (e.g. /dev/usb/lp0), or empty to use "
                  "vendor_id/product_id; serial: the port (e.g. /dev/ttyUSB0); file: the "
                  "file or device written to.", default=""),
    "vendor_id": Key("int", "usb: USB vendor id (e.g. 0x04b8), when no device is given.",
                     default=0, minimum=0, maximum=0xFFFF),
    "product_id": Key("int", "usb: USB product id.", default=0, minimum=0, maximum=0xFFFF),
    "baudrate": Key("int", "serial: speed in baud.", default=19200, minimum=1200),
    "cups_name": Key("str", "cups: the CUPS queue name.", default=""),
    "width": Key("choice", "Printable width in dots: 384 (58 mm), 512 or 576 (80 mm).",
                 default=576, choices=(384, 512, 576)),
    "timeout_s": Key("float", "Give up on a print after this many seconds.", default=5.0,
                     minimum=0.1, maximum=120),
    "paper_check": Key("bool", "network: ask the printer for its paper status (DLE EOT) "
                       "before each ticket.", default=True),
    "cut": Key("bool", "Cut the paper after each ticket.", default=True),
}
_PRINTER = section("Ticket printer.", _PRINTER_FIELDS, default={})

SCHEMA = section("The whole configuration.", {
    "center": section("The service center itself.", {
        "name": text_key("Center name, `{vi: ..., en: ...}` or one string."),
        "address": Key("str", "Postal address, shown on screens and tickets.", default=""),
        "timezone": Key("str", "IANA time zone of the service day.", default="Asia/Ho_Chi_Minh"),
        "default_language": Key("choice", "Language of screens when none is asked for.",
                                default="vi", choices=("vi", "en")),
    }),
    "server": section("How the server runs.", {
        "host": Key("str", "Address to listen on.", default="0.0.0.0"),
        "port": Key("int", "TCP port.", default=5000, minimum=1, maximum=65535),
        "data_dir": Key("str", "Folder of the SQLite database and the secret key, relative to "
                        "the config file.", default="instance"),
        "async_mode": Key("choice", "Flask-SocketIO async mode (see README: chosen by "
                          "measurement).", default="gevent", choices=("gevent", "threading")),
        "public_url": Key("str", "Base URL phones use to reach the server (for the QR code); "
                          "empty means the URL of the request.", default=""),
        "secret_key": Key("str", "Session signing key; empty means a random key kept in "
                          "data_dir/secret_key.", default=""),
        "message_queue": Key("str", "Redis URL shared by several server processes for "
                             "Socket.IO fan-out; empty for one process.", default=""),
        "cookie_secure": Key("bool", "Send the session cookie over HTTPS only.", default=False),
        "session_hours": Key("float", "Staff session lifetime in hours.", default=12.0,
                             minimum=0.01),
    }, default={}),
    "hours": section("Opening and ticket-issuing hours.", {
        "enforce": Key("bool", "Refuse tickets outside the issuing hours and days. The demo "
                       "config leaves it off so that it works at any hour.", default=False),
        "days": Key("list", "Working days.", default=list(WEEKDAYS[:5]),
                    item=Key("choice", "A weekday.", choices=WEEKDAYS)),
        "sessions": Key("list", "Opening sessions of a working day.", default=[],
                        item=_SESSION),
        "issuing": Key("list", "Windows in which tickets are issued.", default=[],
                       item=_SESSION),
        "daily_reset": Key("time", "Local time at which open tickets close and numbering "
                           "restarts (the start of the service day).", default="00:00"),
    }, default={}),
    "queue": section("Calling rules.", {
        "priority_ratio": Key("int", "A priority ticket is called first once at least N-1 "
                              "ordinary calls were made since the last priority call at that "
                              "counter (1 = priority always first).", default=3, minimum=1),
        "recall_limit": Key("int", "How many times a called ticket may be recalled.",
                            default=3, minimum=0),
        "requeue_behind": Key("int", "A called ticket put back in line goes behind this "
                              "many of the tickets waiting after it (0: keeps its place).",
                              default=3, minimum=0),
        "transfer_position": Key("choice", "Default place of a transferred ticket.",
                                 default="front", choices=("front", "end", "original")),
        "default_service_min": Key("float", "Service time assumed for a service with no "
                                   "completed ticket yet (minutes).", default=7.0,
                                   minimum=0.1),
        "estimate_window": Key("int", "How many recent services the wait estimate averages.",
                               default=20, minimum=1),
    }, default={}),
    "issuing": section("Who may issue tickets.", {
        "open_to_lan": Key("bool", "Accept POST /api/tickets from anyone on the LAN. When "
                           "false only registered kiosks with their secret may issue.",
                           default=True),
        "daily_limit": Key("int", "Default cap of tickets per service per day (0 = none).",
                           default=0, minimum=0),
        "number_digits": Key("int", "Digits after the prefix (3 gives A001; more digits "
                             "are used past 999).", default=3, minimum=1),
    }, default={}),
    "display": section("Hall displays.", {
        "recent_calls": Key("int", "How many recent calls a display lists.", default=8,
                            minimum=1, maximum=30),
        "spotlight_s": Key("float", "Seconds the newest call stays in the spotlight.",
                           default=8.0, minimum=1, maximum=120),
        "notices": Key("list", "Notices scrolled in the ticker.", default=[],
                       item=text_key("A notice.")),
    }, default={}),
    "kiosk": section("The ticketing kiosk screen.", {
        "return_after_s": Key("float", "Seconds the confirmation stays before the kiosk "
                              "returns to the start.", default=20.0, minimum=3, maximum=300),
        "priority": Key("bool", "Offer the priority path (elderly, disabled, pregnant).",
                        default=True),
        "ticket_footer": text_key("Footer printed at the bottom of every ticket.",
                                  default=""),
    }, default={}),
    "phone": section("The visitor's status page (/t/<token>, the QR on the ticket).", {
        "requests_per_minute": Key("int", "Requests per minute one client address may make "
                                   "for one ticket (status page, its API and live room, "
                                   "cancel, rating, QR), on average.", default=120,
                                   minimum=1),
        "burst": Key("int", "Requests one client address may make at once for one ticket "
                     "before the rate applies.", default=60, minimum=1),
        "unknown_token_cost": Key("int", "A request for a ticket that does not exist costs "
                                  "this many requests from the address's own bucket, so "
                                  "guessing is slowed down.", default=10, minimum=1),
    }, default={}),
    "rating": section("The satisfaction question (the device beside each counter, "
                      "/rate/<counter>, and the phone page after service).", {
        "question_s": Key("float", "Seconds the rating device asks before going back to "
                          "idle.", default=60.0, minimum=5, maximum=600),
        "thanks_s": Key("float", "Seconds the thank-you stays on the rating device.",
                        default=5.0, minimum=1, maximum=60),
        "device_key": Key("str", "Key of the rating devices, opened as "
                          "/rate/<counter>?key=...; empty: any browser on the LAN may open "
                          "them (the demo config).", default=""),
        "comment_max": Key("int", "Longest comment, in characters.", default=200,
                           minimum=0, maximum=500),
    }, default={}),
    "dashboard": section("The supervisors' live board (/dashboard).", {
        "amber_at": Key("float", "A line turns amber when its longest wait reaches this share "
                        "of the service's sla_min (red at the threshold itself).",
                        default=0.75, minimum=0.1, maximum=1.0),
        "check_s": Key("float", "How often the server checks waits and devices for alerts, "
                       "in seconds.", default=5.0, minimum=0.2, maximum=60),
        "offline_after_s": Key("float", "A kiosk, display or rating device that had been "
                               "connected this long and disconnected raises an alert after "
                               "this many seconds away.", default=30.0, minimum=1,
                               maximum=3600),
    }, default={}),
    "console": section("The officers' counter console.", {
        "pause_reasons": Key("list", "Reasons offered when pausing a counter.",
                             default=[{"vi": "Nghỉ giải lao", "en": "Break"},
                                      {"vi": "Họp", "en": "Meeting"},
                                      {"vi": "Hỗ trợ đồng nghiệp", "en": "Helping a colleague"},
                                      {"vi": "Việc khác", "en": "Other"}],
                             item=text_key("A reason.")),
    }, default={}),
    "speech": section("Spoken announcements.", {
        "template_vi": Key("str", "Vietnamese phrase; {number} and {counter} are replaced by "
                           "the words to say.",
                           default="Mời công dân có số thứ tự {number}, đến quầy số {counter}"),
        "template_en": Key("str", "English phrase.",
                           default="Ticket {number}, please go to counter {counter}"),
        "english": Key("bool", "Also announce in English.", default=False),
        "repeat": Key("int", "How many times the announcement is said.", default=1,
                      minimum=1),
        "hundreds_linker": Key("choice", "Word for a zero tens digit (105): `lẻ` in the south, "
                               "`linh` in the north.", default="lẻ", choices=("lẻ", "linh")),
        "engine": Key("choice", "`espeak` (pyttsx3 with espeak-ng), `voice_pack` (recorded "
                      "clips) or `none` (chime and subtitles only).", default="espeak",
                      choices=("espeak", "voice_pack", "none")),
        "voice": Key("str", "espeak-ng voice of the Vietnamese phrase.", default="vi"),
        "rate": Key("int", "Speaking rate, words per minute.", default=140, minimum=60,
                    maximum=400),
        "voice_pack": Key("str", "Folder of recorded clips (relative to the config file); "
                          "empty: data_dir/voice_pack, generated with espeak-ng.",
                          default=""),
        "chime": Key("bool", "Play a chime before each announcement.", default=True),
    }, default={}),
    "printer": _PRINTER,
    "zones": Key("list", "Reception zones.", item=section("A zone.", {
        "id": Key("str", "Short code shown on tickets, e.g. A1."),
        "floor": Key("int", "Floor number.", default=1),
        "name": text_key("Zone name.", default=""),
        "speaker": Key("str", "Name of the zone's display that plays the sound (opened as "
                       "/display/<zone>?name=...); empty: the first display to connect.",
                       default=""),
    })),
    "departments": Key("list", "Departments and their services (lĩnh vực).",
                       item=section("A department.", {
        "id": Key("str", "Stable identifier."),
        "name": text_key("Department name."),
        "letter": Key("str", "Signage letter.", default=""),
        "zone": Key("str", "Zone of the department (a zone id)."),
        "services": Key("list", "Services a visitor picks at the kiosk.",
                        item=section("A service.", {
            "id": Key("str", "Stable identifier, unique in the center."),
            "prefix": Key("str", "Ticket prefix, unique; Vietnamese letters only."),
            "name": text_key("Service name."),
            "zone": Key("str", "Zone, when not the department's.", default=""),
            "daily_limit": Key("int", "Cap of tickets a day (0 = issuing.daily_limit).",
                               default=0, minimum=0),
            "sla_min": Key("float", "Wait threshold in minutes for alerts.", default=20.0,
                           minimum=0.1),
            "expected_service_min": Key("float", "Typical service time (0 = "
                                        "queue.default_service_min).", default=0.0,
                                        minimum=0.0),
        })),
    })),
    "counters": Key("list", "Counters (quầy).", item=section("A counter.", {
        "id": Key("int", "Counter number, unique, as announced.", minimum=1, maximum=9999),
        "zone": Key("str", "Zone of the counter (a zone id)."),
        "services": Key("list", "Services in calling order: an id, or {service: id, weight: "
                        "N} to call by weighted wait instead of strict order.",
                        item=Key("service_ref", "A service id or {service, weight}.")),
        "priority": Key("bool", "Priority counter (quầy ưu tiên): priority tickets always "
                        "first.", default=False),
        "calling": Key("choice", "`order`: the first listed service with someone waiting; "
                       "`longest_wait`: whoever waited longest (weighted, if weights are "
                       "given) across its services.", default="order",
                       choices=("order", "longest_wait")),
        "active": Key("bool", "False for a counter that exists but is not staffed.",
                      default=True),
        "name": text_key("Label; default 'Quầy <id>'.", default=""),
    })),
    "kiosks": Key("list", "Registered ticket kiosks.", default=[], item=section("A kiosk.", {
        "id": Key("str", "Kiosk id, sent as `kiosk` when issuing."),
        "secret": Key("str", "Shared secret sent as the X-Kiosk-Secret header.", default=""),
        "zone": Key("str", "Zone the kiosk stands in (empty = whole center).", default=""),
        "services": Key("list", "Services this kiosk offers (empty = all of its zone, or all).",
                        default=[], item=Key("str", "A service id.")),
        "printer": section("This kiosk's own printer (default: the top-level `printer`).",
                           _PRINTER_FIELDS, default=None, nullable=True),
    })),
})


def _fmt(path):
    return path or "config"


def _validate(value, key: Key, path: str):
    if value is None and key.nullable:
        return None
    kind = key.kind
    if kind == "section":
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{_fmt(path)}: expected a mapping, got {type(value).__name__}")
        unknown = sorted((set(value) - set(key.fields)), key=str)
        if unknown:
            raise ConfigError(f"{(path + '.') if path else ''}{unknown[0]}: unknown key")
        out = {}
        for name, sub in key.fields.items():
            sub_path = f"{path}.{name}" if path else name
            if name in value:
                out[name] = _validate(value[name], sub, sub_path)
            elif sub.default is REQUIRED:
                raise ConfigError(f"{sub_path}: required key is missing")
            else:
                out[name] = _validate(_copy(sub.default), sub, sub_path)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        return [_validate(v, key.item, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "text":
        if isinstance(value, str):
            return {"vi": value, "en": value}
        if isinstance(value, dict) and set(value) <= {"vi", "en"} and "vi" in value \
                and all(isinstance(v, str) for v in value.values()):
            return {"vi": value["vi"], "en": value.get("en", value["vi"])}
        raise ConfigError(f"{path}: expected text or {{vi: ..., en: ...}}")
    if kind == "service_ref":
        if isinstance(value, str):
            return {"service": value, "weight": None}
        if isinstance(value, dict) and set(value) <= {"service", "weight"} \
                and isinstance(value.get("service"), str) and _is_num(value.get("weight")) \
                and 0 < value["weight"] < 1e6:
            return {"service": value["service"], "weight": float(value["weight"])}
        raise ConfigError(f"{path}: expected a service id or {{service: id, weight: N > 0}}")
    if kind == "choice":
        if value not in key.choices:
            raise ConfigError(f"{path}: expected one of {', '.join(map(str, key.choices))}, "
                              f"got {value!r}")
        return value
    if kind == "time":
        if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ConfigError(f"{path}: expected a time HH:MM, got {value!r}")
        return value
    expected = {"str": str, "int": int, "float": (int, float), "bool": bool}[kind]
    if isinstance(value, bool) and kind != "bool" or not isinstance(value, expected):
        raise ConfigError(f"{path}: expected {kind}, got {type(value).__name__} {value!r}")
    if key.minimum is not None and value < key.minimum:
        raise ConfigError(f"{path}: expected at least {key.minimum}, got {value!r}")
    if key.maximum is not None and value > key.maximum:
        raise ConfigError(f"{path}: expected at most {key.maximum}, got {value!r}")
    return float(value) if kind == "float" else value


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _copy(v):
    return list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v


def _check_references(cfg):
    """Cross-key rules: unique ids and prefixes, known zones and services."""
    try:
        zoneinfo.ZoneInfo(cfg["center"]["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"center.timezone: unknown time zone {cfg['center']['timezone']!r}") from None
    zones = set()
    for i, z in enumerate(cfg["zones"]):
        if z["id"] in zones:
            raise ConfigError(f"zones[{i}].id: duplicate zone '{z['id']}'")
        zones.add(z["id"])
    if not zones:
        raise ConfigError("zones: at least one zone is required")
    services, prefixes, depts = {}, {}, set()
    for d, dep in enumerate(cfg["departments"]):
        where = f"departments[{d}]"
        if dep["id"] in depts:
            raise ConfigError(f"{where}.id: duplicate department '{dep['id']}'")
        depts.add(dep["id"])
        if dep["zone"] not in zones:
            raise ConfigError(f"{where}.zone: unknown zone '{dep['zone']}'")
        for s, svc in enumerate(dep["services"]):
            sw = f"{where}.services[{s}]"
            if svc["id"] in services:
                raise ConfigError(f"{sw}.id: duplicate service '{svc['id']}'")
            prefix = svc["prefix"]
            if not prefix or not set(prefix) <= VIETNAMESE_LETTERS:
                raise ConfigError(f"{sw}.prefix: expected capital Vietnamese letters "
                                  f"(no F, J, W, Z), got {prefix!r}")
            if prefix in prefixes:
                raise ConfigError(f"{sw}.prefix: duplicate prefix '{prefix}' "
                                  f"(also service '{prefixes[prefix]}')")
            if svc["zone"] and svc["zone"] not in zones:
                raise ConfigError(f"{sw}.zone: unknown zone '{svc['zone']}'")
            services[svc["id"]] = svc
            prefixes[prefix] = svc["id"]
    if not services:
        raise ConfigError("departments: at least one service is required")
    seen = set()
    for c, counter in enumerate(cfg["counters"]):
        where = f"counters[{c}]"
        if counter["id"] in seen:
            raise ConfigError(f"{where}.id: duplicate counter {counter['id']}")
        seen.add(counter["id"])
        if counter["zone"] not in zones:
            raise ConfigError(f"{where}.zone: unknown zone '{counter['zone']}'")
        if not counter["services"]:
            raise ConfigError(f"{where}.services: a counter serves at least one service")
        listed = set()
        for s, ref in enumerate(counter["services"]):
            if ref["service"] not in services:
                raise ConfigError(f"{where}.services[{s}]: unknown service '{ref['service']}'")
            if ref["service"] in listed:
                raise ConfigError(f"{where}.services[{s}]: service '{ref['service']}' "
                                  f"listed twice")
            listed.add(ref["service"])
    hours = cfg["hours"]
    for name in ("sessions", "issuing"):
        for i, window in enumerate(hours[name]):
            if window["open"] >= window["close"]:
                raise ConfigError(f"hours.{name}[{i}]: open ({window['open']}) must be "
                                  f"before close ({window['close']})")
    speech = cfg["speech"]
    for name in ("template_vi", "template_en"):
        try:
            speech[name].format(number="A", counter="1")
        except (KeyError, IndexError, ValueError):
            raise ConfigError(f"speech.{name}: only {{number}} and {{counter}} may be "
                              f"used, got {speech[name]!r}") from None
    if not cfg["issuing"]["open_to_lan"] and not cfg["kiosks"]:
        raise ConfigError("kiosks: at least one kiosk is needed when issuing.open_to_lan "
                          "is false")
    kiosks = set()
    for k, kiosk in enumerate(cfg["kiosks"]):
        if kiosk["id"] in kiosks:
            raise ConfigError(f"kiosks[{k}].id: duplicate kiosk '{kiosk['id']}'")
        kiosks.add(kiosk["id"])
        if kiosk["zone"] and kiosk["zone"] not in zones:
            raise ConfigError(f"kiosks[{k}].zone: unknown zone '{kiosk['zone']}'")
        if not cfg["issuing"]["open_to_lan"] and not kiosk["secret"]:
            raise ConfigError(f"kiosks[{k}].secret: required when issuing.open_to_lan is false")
        for s, sid in enumerate(kiosk["services"]):
            if sid not in services:
                raise ConfigError(f"kiosks[{k}].services[{s}]: unknown service '{sid}'")
        if kiosk["printer"] is not None:
            _check_printer(kiosk["printer"], f"kiosks[{k}].printer")
    _check_printer(cfg["printer"], "printer")


def _check_printer(printer, where):
    """The fields its driver needs are given."""
    needs = {"network": "host", "serial": "device", "cups": "cups_name", "file": "device"}
    name = needs.get(printer["driver"])
    if name and not printer[name]:
        raise ConfigError(f"{where}.{name}: required for driver {printer['driver']}")
    if printer["driver"] == "usb" and not printer["device"] and \
            not (printer["vendor_id"] and printer["product_id"]):
        raise ConfigError(f"{where}.device: driver usb needs a device or vendor_id and "
                          f"product_id")


def validate(raw) -> dict:
    """Validate a parsed YAML document; returns it with every default filled in."""
    cfg = _validate(raw, SCHEMA, "")
    _check_references(cfg)
    return cfg


def load(path: str | Path) -> dict:
    """Load and validate a config file; relative data_dir and speech.voice_pack are resolved
    against it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    cfg = validate(raw)
    data_dir = Path(cfg["server"]["data_dir"])
    if not data_dir.is_absolute():
        cfg["server"]["data_dir"] = str((path.parent / data_dir).resolve())
    pack = cfg["speech"]["voice_pack"]
    if pack and not Path(pack).is_absolute():
        cfg["speech"]["voice_pack"] = str((path.parent / pack).resolve())
    return cfg


def key_paths(key: Key = SCHEMA, prefix: str = ""):
    """Every documented key path, e.g. ``counters[].services``, for the docs test."""
    for name, sub in key.fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        if sub.kind == "section":
            yield from key_paths(sub, path)
        elif sub.kind == "list" and sub.item.kind == "section":
            yield from key_paths(sub.item, path + "[]")

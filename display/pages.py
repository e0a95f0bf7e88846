"""The screens of the halls: the start page, the zone and center displays, and the small
screen above each counter."""

from flask import current_app, request

from qms.domain.errors import NotFound
from qms.pages import page_language, render_page

from . import bp


def _qms():
    return current_app.extensions["qms"]


@bp.get("/")
def home():
    qms = _qms()
    return render_page("display/home.html", "home_title", center=qms.center,
                       kiosks=qms.cfg["kiosks"], open_to_lan=qms.cfg["issuing"]["open_to_lan"])


def _names(lang):
    center = _qms().center
    services = {s.id: {"prefix": s.prefix, "name": s.name[lang], "zone": s.zone}
                for s in center.services.values()}
    counters = {c.id: {"name": c.name[lang], "zone": c.zone} for c in center.counters.values()}
    return services, counters


@bp.get("/display")
@bp.get("/display/<zone>")
def hall(zone=None):
    """A hall TV: ``/display`` for the whole center, ``/display/<zone>`` for one zone;
    ``?name=`` names the screen (see ``zones[].speaker``); the whole-center screen of a
    center with several zones speaks only when opened with ``?sound=1``."""
    qms = _qms()
    if zone is not None and zone not in qms.center.zones:
        raise NotFound("unknown_zone", zone=zone[:32])
    lang = page_language()
    services, counters = _names(lang)
    display, speech = qms.cfg["display"], qms.cfg["speech"]
    data = {"zone": zone or "", "name": request.args.get("name", "")[:64],
            "sound": request.args.get("sound") == "1",
            "recent_calls": display["recent_calls"], "spotlight_s": display["spotlight_s"],
            "notices": [n[lang] for n in display["notices"] if n[lang]],
            "chime": speech["chime"], "services": services, "counters": counters,
            "timezone": qms.cfg["center"]["timezone"]}
    title = qms.center.zones[zone]["name"][lang] if zone else ""
    return render_page("display/hall.html", "display_title", messages=("display_",),
                       data=data, center=qms.center, zone=zone, zone_title=title)


@bp.get("/display/counter/<int:counter_id>")
def counter_screen(counter_id):
    """The small screen above a counter: its name and the number it serves now."""
    qms = _qms()
    conf = qms.center.counters.get(counter_id)
    if conf is None:
        raise NotFound("unknown_counter", counter=counter_id)
    lang = page_language()
    return render_page("display/counter.html", "display_title", messages=("display_",),
                       data={"counter": counter_id}, counter=conf, counter_name=conf.name[lang])

"""The rating device beside each counter, ``/rate/<counter>``.

Idle, it shows the counter and its officer; when the counter completes a ticket the room
``rate:<counter>`` brings ``rating_requested`` and the device asks the visitor, for
``rating.question_s`` at most. It rates through the visitor's own route
(``POST /api/tickets/<token>/rating``), so one rating per ticket holds whichever of the
phone and the device comes first. With ``rating.device_key`` set, the device is opened as
``/rate/<counter>?key=<key>`` and sends the key when it joins its room.
"""

import hmac

from flask import current_app, request

from qms.domain.errors import Forbidden, NotFound
from qms.i18n import LANGUAGES, catalogue_for
from qms.pages import render_page

from . import bp


@bp.get("/rate/<int:counter_id>")
def rating_page(counter_id):
    qms = current_app.extensions["qms"]
    if counter_id not in qms.center.counters:
        raise NotFound("unknown_counter", counter=counter_id)
    wanted = qms.cfg["rating"]["device_key"]
    key = request.args.get("key", "")
    if wanted and not hmac.compare_digest(key.encode("utf-8", "surrogatepass"),
                                          wanted.encode()):
        raise Forbidden("device_key")
    conf = qms.center.counters[counter_id]
    rating = qms.cfg["rating"]
    services = {s.id: s.name for s in qms.center.services.values()}
    data = {"counter": counter_id, "join_key": key, "names": conf.name,
            "services": services, "question_s": rating["question_s"],
            "thanks_s": rating["thanks_s"], "comment_max": rating["comment_max"],
            "catalogues": {code: catalogue_for(code, ("rating_", "page_", "status_"))
                           for code in LANGUAGES}}
    # A device serves visitor after visitor: a visitor may switch language in place, and
    # the device returns to its own language (the center's, or ?lang=) when it idles.
    return render_page("counter/rate.html", "rating_title", messages=("rating_",),
                       data=data, counter=conf, remember=False)

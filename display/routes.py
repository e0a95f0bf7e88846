"""Hall display API: recent calls, waiting counts, and the sound of the calls."""

import re
import time

from flask import current_app, jsonify, request, send_file

from qms.domain.errors import NotFound

from . import bp

AUDIO_KEY = re.compile(r"[0-9a-f]{16,64}")


@bp.get("/api/display")
def display():
    qms = current_app.extensions["qms"]
    zone = request.args.get("zone") or None
    if zone is not None and zone not in qms.center.zones:
        raise NotFound("unknown_zone", zone=zone[:32])
    return jsonify(qms.service.views.display(zone))


@bp.get("/audio/chime.wav")
def chime():
    path = current_app.extensions["qms"].speech.audio_dir / "chime.wav"
    return send_file(path, mimetype="audio/wav", max_age=86400)


@bp.get("/audio/<key>.wav")
def audio(key):
    """A call's announcement; waits for the speech worker if it is still being voiced.
    The name is a digest of the words, so the file never changes: cached for a day."""
    if not AUDIO_KEY.fullmatch(key):
        raise NotFound("unknown_audio")
    qms = current_app.extensions["qms"]
    path = qms.speech.wait(key, timeout=10)
    if path is None and qms.cfg["server"]["message_queue"]:
        # Several processes: the call may have been voiced by another one, on the same
        # data folder; give it a moment to land there.
        path = _appears(qms.speech.path(key), timeout=3)
    if path is None:
        raise NotFound("unknown_audio")
    return send_file(path, mimetype="audio/wav", max_age=86400, conditional=True)


def _appears(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path
        time.sleep(0.05)  # a greenlet sleep under gevent
    return None

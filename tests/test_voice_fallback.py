"""Without a voice (espeak-ng missing or unusable) calls still work and chime, and the
server says once, in its log, why there is no voice."""

import logging

from conftest import Staff, issue


def test_without_a_voice_calls_still_show_and_chime_and_the_log_says_why_once(
        app_with, caplog):
    caplog.set_level(logging.WARNING, logger="qms")
    app, client, _ = app_with({"speech": {"voice": "zz-no-such-voice"}})
    warnings = [r for r in caplog.records if "without a voice" in r.getMessage()]
    assert len(warnings) == 1 and "zz-no-such-voice" in warnings[0].getMessage()
    officer = Staff(app, "can-bo-an")
    assert officer.act(1, "open").status_code == 200
    number = issue(client)["number"]
    called = officer.act(1, "next").json["ticket"]
    assert called["number"] == number
    with client.get("/audio/chime.wav") as chime:
        assert chime.status_code == 200 and chime.data[:4] == b"RIFF"
    assert len([r for r in caplog.records if "without a voice" in r.getMessage()]) == 1


def test_with_speech_engine_none_the_call_carries_the_words_but_no_audio(app_with):
    app, client, _ = app_with({"speech": {"engine": "none"}})
    events = []
    app.extensions["qms"].service.publish = events.extend
    officer = Staff(app, "can-bo-an")
    officer.act(1, "open")
    issue(client)
    officer.act(1, "next")
    called = next(e for e in events if e.event_name() == "ticket_called")
    assert called.audio_url is None
    assert called.announcement.startswith("Mời công dân có số thứ tự pê, a, không, không, một")

"""Rendering of the HTML screens: one base template, the page's messages and its start data.

Every screen is ``render_page(template, title_id, ...)``: the template gets ``t()`` (the
catalogue in the page's language), ``lang``, ``other_lang`` and ``page_data``, which the
base template puts in a ``<script type="application/json">`` block for ``static/js/qms.js``
(Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and quotes, so typed text cannot break out).
A ``?lang=`` on the URL is remembered in a cookie, so the API answers in the same language.
Screens do not follow the browser's Accept-Language: a kiosk or a hall TV speaks the
center's language (``center.default_language``) until someone taps the other one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, make_response, redirect, render_template, request

from .i18n import LANGUAGES, catalogue_for, translate

COMMON_MESSAGES = ("page_", "status_", "wait_")
# Pages load scripts, styles, fonts and sounds from this server only (the LAN has no
# internet); sockets go back to the same host.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; font-src 'self'; connect-src 'self' ws: wss:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def page_language(remember=True) -> str:
    """``?lang=``, then the remembered choice (if ``remember``), then the center's
    language."""
    asked = request.args.get("lang") or (request.cookies.get("lang") if remember else None)
    g.lang = asked if asked in LANGUAGES else current_app.config["QMS_DEFAULT_LANG"]
    return g.lang


def render_page(template: str, title_id: str, *, messages=(), data=None, remember=True,
                **context):
    """An HTML screen in the request's language; ``messages`` are the catalogue id prefixes
    the page's script needs, ``data`` what it starts from. ``remember=False`` (the kiosk,
    shared by every visitor) neither reads nor sets the language cookie."""
    page_lang = page_language(remember)
    other = next(code for code in LANGUAGES if code != page_lang)
    page_data = {"lang": page_lang, "messages": catalogue_for(page_lang, COMMON_MESSAGES +
                                                              tuple(messages)),
                 **(data or {})}

    def t(msg_id, **params):
        return translate(msg_id, page_lang, **params)

    html = render_template(template, t=t, lang=page_lang, other_lang=other,
                           title=t(title_id), page_data=page_data, **context)
    response = make_response(html)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    if remember and request.args.get("lang") in LANGUAGES:
        response.set_cookie("lang", page_lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def login_redirect(path: str):
    """To the staff login, which leads back to ``path`` (a staff page) once logged in."""
    return redirect("/counter/login?" + urlencode({"next": path}))

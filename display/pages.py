"""The start page: links to every screen of the center."""

from flask import current_app

from qms.pages import render_page

from . import bp


@bp.get("/")
def home():
    qms = current_app.extensions["qms"]
    return render_page("display/home.html", "home_title", center=qms.center,
                       kiosks=qms.cfg["kiosks"])

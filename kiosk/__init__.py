"""The kiosk blueprint: its HTTP routes and its screen."""

from flask import Blueprint

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/kiosk")

from . import pages, phone, routes  # noqa: E402,F401  (registers the routes on bp)

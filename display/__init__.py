"""The display blueprint: its HTTP routes and socket handlers."""

from flask import Blueprint

bp = Blueprint("display", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/display")

from . import pages, routes  # noqa: E402,F401  (registers the routes on bp)

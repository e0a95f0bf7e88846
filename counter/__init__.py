"""The counter blueprint: its HTTP routes and socket handlers."""

from flask import Blueprint

# Files in counter/static/counter/ are served at /static/counter/<file>.
bp = Blueprint("counter", __name__, template_folder="templates",
               static_folder="static/counter", static_url_path="/static/counter")

from . import pages, rating, routes  # noqa: E402,F401  (registers the routes on bp)

"""An experiment, not the server: ``server.py`` with TCP_NODELAY on every socket that gevent's
pywsgi accepts, to measure that fix against the same load (see docs/performance.md):

    .venv/bin/python bench/issue_tickets.py --server-script bench/server_nodelay.py
    .venv/bin/python bench/call_latency.py --rate 0 --server-script bench/server_nodelay.py

It takes server.py's command line and runs server.py unchanged after patching
``gevent.pywsgi.WSGIHandler.__init__`` (only the gevent async mode uses it).
"""

import runpy
import socket
import sys
from pathlib import Path

from gevent import pywsgi

ROOT = Path(__file__).resolve().parent.parent
_init = pywsgi.WSGIHandler.__init__


def _init_nodelay(self, sock, address, server, rfile=None):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not a TCP socket
        pass
    _init(self, sock, address, server, rfile)


pywsgi.WSGIHandler.__init__ = _init_nodelay

if __name__ == "__main__":
    sys.argv[0] = str(ROOT / "server.py")
    sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "server.py"), run_name="__main__")

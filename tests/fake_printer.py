"""A network ESC/POS printer on 127.0.0.1 for the tests, and helpers that read what it got.

``FakePrinter`` accepts one connection at a time, like a real port-9100 printer, records
each connection's bytes as one job, and answers a DLE EOT 4 sent first on a connection
with ``status`` (0x12 paper present, 0x72 paper end; None: no answer). It can also
``refuse`` connections (port bound, not listening), drop a connection after
``drop_after`` bytes (the printer goes away mid-ticket), or ``stall`` (accept, never
read). Its receive buffer is small, so a client cannot park a whole ticket in the kernel:
what is acknowledged was read.

``parse_raster`` rebuilds the GS v 0 images of an ESC/POS stream, ``decode_qr`` runs
zbarimg and ``ocr`` runs tesseract on an image.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

PAPER_OK, PAPER_OUT = 0x12, 0x72
STATUS_QUERY = b"\x10\x04\x04"  # DLE EOT 4
RASTER = b"\x1dv0"  # GS v 0


class FakePrinter:
    def __init__(self, *, status: int | None = PAPER_OK, refuse=False, drop_after=None,
                 stall=False, rcvbuf=4096):
        self.status, self.refuse = status, refuse
        self.drop_after, self.stall = drop_after, stall
        self.jobs: list[bytes] = []
        self.connections = 0
        self._changed = threading.Condition()
        self._held: list[socket.socket] = []
        self._stopping = False
        self._thread = None
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Set before listen() so that accepted sockets advertise a small window.
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._sock.bind(("127.0.0.1", 0))
        self.host, self.port = self._sock.getsockname()
        if not refuse:
            self.listen()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def listen(self):
        """Start accepting (a refusing printer comes back on the same port)."""
        self.refuse = False
        self._sock.listen(4)
        self._sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-printer")
        self._thread.start()

    def stop(self):
        self._stopping = True
        if self._thread:
            self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._sock.close()

    def wait_for_jobs(self, n: int, timeout: float = 5.0) -> list[bytes]:
        """The first ``n`` jobs, once they are complete; AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.jobs) >= n, timeout):
                raise AssertionError(f"{len(self.jobs)} job(s) received, expected {n}")
            return list(self.jobs[:n])

    def config(self, **overrides) -> dict:
        """The raw ``printer`` section of a config pointing at this printer."""
        return {"driver": "network", "host": self.host, "port": self.port,
                "timeout_s": 2.0, "width": 384, **overrides}

    def _serve(self):
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with self._changed:
                self.connections += 1
            if self.stall:
                self._held.append(conn)  # never read; closed by stop()
                continue
            with conn:
                data = self._receive(conn)
            with self._changed:
                self.jobs.append(data)
                self._changed.notify_all()

    def _receive(self, conn) -> bytes:
        conn.settimeout(0.05)
        data, answered = b"", False
        while not self._stopping:
            want = 65536 if self.drop_after is None else self.drop_after - len(data)
            if want <= 0:
                # Reset, like a printer switched off: the client's next bytes fail.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                return data
            try:
                chunk = conn.recv(want)
            except TimeoutError:
                continue
            except ConnectionError:
                return data
            if not chunk:
                return data
            data += chunk
            if not answered and len(data) >= len(STATUS_QUERY):
                answered = True
                if data.startswith(STATUS_QUERY) and self.status is not None:
                    conn.sendall(bytes([self.status]))
        return data


def parse_raster(data: bytes) -> list[Image.Image]:
    """Every GS v 0 raster image in an ESC/POS stream, as mode "1" images (black = 0).
    Bands that follow each other with nothing in between (python-escpos cuts tall images
    into bands of 960 rows) are stitched back into one image."""
    images, bands, pos, band_end = [], [], 0, None
    while (start := data.find(RASTER, pos)) >= 0 and start + 8 <= len(data):
        if bands and start != band_end:
            images.append(_stitch(bands))
            bands = []
        width_bytes = data[start + 4] + data[start + 5] * 256
        height = data[start + 6] + data[start + 7] * 256
        body = data[start + 8:start + 8 + width_bytes * height]
        if len(body) < width_bytes * height:
            break  # truncated: the printer went away
        # Raw mode "1;I": a set bit is black, as on the printer.
        bands.append(Image.frombytes("1", (width_bytes * 8, height), body, "raw", "1;I"))
        pos = band_end = start + 8 + len(body)
    if bands:
        images.append(_stitch(bands))
    return images


def _stitch(bands: list[Image.Image]) -> Image.Image:
    whole = Image.new("1", (bands[0].width, sum(b.height for b in bands)), 1)
    top = 0
    for band in bands:
        whole.paste(band, (0, top))
        top += band.height
        band.close()
    return whole


def decode_qr(image: Image.Image) -> list[str]:
    """The texts of the QR codes zbarimg finds in the image."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ticket.png"
        image.save(path)
        done = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable",
                               "-Sqrcode.enable", str(path)],
                              capture_output=True, text=True, timeout=30)
    return done.stdout.splitlines()


def ocr(image: Image.Image, *, lang: str = "vie", psm: int = 6, scale: float = 1.0) -> str:
    """Text read by tesseract (page segmentation mode ``psm``: 6 a block of text, 7 one
    line) on the image resized ``scale`` times: it reads best at 20-60 px letters."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ticket.png"
        size = (round(image.width * scale), round(image.height * scale))
        with image.convert("L") as grey, grey.resize(size, Image.Resampling.LANCZOS) as page:
            page.save(path)
        done = subprocess.run(["tesseract", str(path), "stdout", "-l", lang, "--psm",
                               str(psm)], capture_output=True, text=True, timeout=60)
    return done.stdout


def wait_until(predicate, timeout: float = 5.0, step: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; returns its last value."""
    end = time.monotonic() + timeout
    while not (result := predicate()) and time.monotonic() < end:
        time.sleep(step)
    return bool(result)


def ink_bands(image: Image.Image) -> list[tuple[int, int]]:
    """(top, bottom) of each run of rows holding black pixels, top to bottom."""
    image = image.convert("1")
    row_bytes = (image.width + 7) // 8
    raw, blank = image.tobytes(), b"\xff" * row_bytes  # in mode "1" a set bit is white
    bands, top = [], None
    for y in range(image.height + 1):
        inked = y < image.height and raw[y * row_bytes:(y + 1) * row_bytes] != blank
        if inked and top is None:
            top = y
        elif not inked and top is not None:
            bands.append((top, y))
            top = None
    return bands

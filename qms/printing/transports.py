"""ESC/POS bytes for a ticket image, and the transports that carry them (python-escpos).

The ticket is encoded once with escpos's Dummy printer, then the bytes go through the
configured transport. Every transport is bounded by a deadline and turns its trouble into
a ``PrintFault`` with a kind (unreachable, paper_out, timeout, error) and a short English
reason. Only ``socket``, ``select`` and ``time`` are used to wait, so the same code is
cooperative under gevent's monkey-patching and plain with threads.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import socket
import struct
import termios
import time

from escpos import printer as escpos_printer
from escpos.constants import RT_STATUS_PAPER
from escpos.exceptions import DeviceNotFoundError
from PIL import Image

log = logging.getLogger(__name__)

BAND_ROWS = 960  # rows per GS v 0 image: python-escpos's fragment height, safe on printers
CHUNK = 4096  # bytes per socket write, so the deadline is checked as the printer reads
PAPER_WAIT_S = 0.5  # printers that do not answer DLE EOT 4 are printed to anyway
PAPER_END = 0x60  # DLE EOT 4 answer: paper end sensor bits
PAPER_NEAR_END = 0x0C
STATUS_FIXED_MASK, STATUS_FIXED = 0x93, 0x12  # bits every DLE EOT answer has this way


# Kinds of fault, as on_fault and the device_fault event report them.
UNREACHABLE, PAPER_OUT, TIMEOUT, ERROR = "unreachable", "paper_out", "timeout", "error"


class PrintFault(Exception):
    """A ticket did not print; ``kind`` is unreachable, paper_out, timeout or error."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def encode_escpos(image: Image.Image, *, cut: bool = True) -> bytes:
    """ESC @, the image as GS v 0 raster images of at most 960 rows, then a feed and a cut
    (or a longer feed to clear the tear bar)."""
    out = escpos_printer.Dummy()
    # Without a known media width escpos print()s a warning to stdout on every image.
    media = {"dpi": 203, "width": {"mm": "Unknown", "pixels": image.width}}
    out.profile.profile_data = {**out.profile.profile_data, "media": media}
    out.hw("INIT")
    # Cut in bands here rather than by escpos, which would convert the whole image first.
    for top in range(0, image.height, BAND_ROWS):
        band = image.crop((0, top, image.width, min(top + BAND_ROWS, image.height)))
        out.image(band, impl="bitImageRaster", center=False, fragment_height=BAND_ROWS)
        band.close()
    if cut:
        out.cut()
    else:
        out.print_and_feed(6)
    return out.output


def send(cfg: dict, data: bytes, deadline: float) -> bool:
    """Carry ``data`` to the printer described by ``cfg`` before ``deadline``
    (time.monotonic()); raises PrintFault. True when the printer reported its paper near
    its end (network printers with ``paper_check``: the roll should be changed soon)."""
    driver = cfg["driver"]
    if driver == "network":
        return _network(cfg, data, deadline)
    if driver == "usb" and not cfg["device"]:
        _usb(cfg, data, deadline)
    elif driver in ("usb", "file"):
        _device_file(cfg["device"], data, deadline, create=driver == "file")
    elif driver == "serial":
        _serial(cfg, data, deadline)
    elif driver == "cups":
        _cups(cfg, data)
    else:
        raise PrintFault(ERROR, f"no transport for driver {driver!r}")
    return False


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


# -- network (raw TCP, port 9100) ------------------------------------------------------------

def _network(cfg, data, deadline):
    where = f"{cfg['host']}:{cfg['port']}"
    printer = escpos_printer.Network(cfg["host"], cfg["port"], timeout=cfg["timeout_s"])
    sent = 0
    try:
        try:
            # Connected here rather than by Network.open(), which leaks its socket when
            # the connection fails.
            printer.device = socket.create_connection((cfg["host"], cfg["port"]),
                                                      timeout=_left(deadline))
        except TimeoutError:
            raise PrintFault(UNREACHABLE, f"no answer from {where} within "
                             f"{cfg['timeout_s']:g} s") from None
        except OSError as exc:
            raise PrintFault(UNREACHABLE, _os_reason(exc, where)) from None
        sock = printer.device
        paper_low = cfg["paper_check"] and _check_paper(printer, sock, deadline, where)
        for start in range(0, len(data), CHUNK):
            chunk = data[start:start + CHUNK]
            sock.settimeout(_left(deadline))
            printer._raw(chunk)
            sent += len(chunk)
        _wait_delivered(sock, deadline)
        return paper_low
    except TimeoutError as exc:
        taken = sent - (exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0)
        raise PrintFault(TIMEOUT, f"{where} stopped taking data: {taken} of {len(data)} "
                         f"bytes in {cfg['timeout_s']:g} s") from None
    except OSError as exc:  # reset, broken pipe: the printer went away mid-ticket
        raise PrintFault(UNREACHABLE, f"{_os_reason(exc, where)} after {sent} of "
                         f"{len(data)} bytes") from None
    finally:
        printer.close()


def _os_reason(exc: OSError, where: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return f"connection to {where} lost"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {where}"
    return f"{where}: {exc.strerror or exc}"


def _check_paper(printer, sock, deadline, where) -> bool:
    """DLE EOT 4: a printer out of paper is reported instead of printed into nothing;
    returns True when its paper is near the end."""
    sock.settimeout(min(PAPER_WAIT_S, _left(deadline)))
    printer._raw(RT_STATUS_PAPER)
    try:
        status = printer._read()
    except TimeoutError:
        log.debug("printer %s: no answer to DLE EOT 4, printing anyway", where)
        return False
    if not status:
        raise PrintFault(UNREACHABLE, f"{where} closed the connection")
    byte = status[0]
    if byte & STATUS_FIXED_MASK != STATUS_FIXED:
        log.debug("printer %s: unexpected status byte 0x%02x, printing anyway", where, byte)
    elif byte & PAPER_END:
        raise PrintFault(PAPER_OUT, f"{where} reports paper end (status 0x{byte:02x})")
    elif byte & PAPER_NEAR_END:
        log.warning("printer %s: paper near end (status 0x%02x)", where, byte)
        return True
    return False


def _wait_delivered(sock, deadline):
    """Wait until the printer has acknowledged every byte (Linux TIOCOUTQ): a printer that
    stops reading or goes away mid-ticket is a fault, not a ticket silently lost in the
    socket buffers."""
    while True:
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, os.strerror(error))
        try:
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ,
                                                    b"\0\0\0\0"))[0]
        except (AttributeError, OSError):
            return  # not Linux: trust sendall()
        if queued == 0:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(queued)  # bytes the printer has not taken
        time.sleep(0.005)


# -- device files: /dev/usb/lp*, plain files -------------------------------------------------

class _DeviceFile(escpos_printer.File):
    """escpos File opened non-blocking and written with select(), so that a stuck device
    times out instead of hanging its worker (or, under gevent, the whole server)."""

    def __init__(self, devfile: str, deadline: float, create: bool):
        super().__init__(devfile, auto_flush=False)
        self.deadline, self.create = deadline, create

    def open(self, raise_not_found: bool = True) -> None:
        flags = os.O_WRONLY | os.O_NONBLOCK | (os.O_CREAT | os.O_TRUNC if self.create else 0)
        self.device = os.fdopen(os.open(self.devfile, flags, 0o644), "wb", buffering=0)

    def _raw(self, msg: bytes) -> None:
        view = memoryview(msg)
        while view:
            written = self.device.write(view)  # None: the device is busy (EAGAIN)
            if written is None:
                _, ready, _ = select.select([], [self.device], [], _left(self.deadline))
                if not ready:
                    raise TimeoutError("device not writable")
                continue
            view = view[written:]


def _device_file(path, data, deadline, create):
    printer = _DeviceFile(path, deadline, create)
    try:
        printer.open()
        printer._raw(data)
    except TimeoutError:
        raise PrintFault(TIMEOUT, f"{path} took no data for too long") from None
    except FileNotFoundError:
        raise PrintFault(UNREACHABLE, f"{path} does not exist (printer unplugged or "
                         f"off?)") from None
    except OSError as exc:
        kind = PAPER_OUT if exc.errno == errno.ENOSPC else ERROR
        raise PrintFault(kind, f"{path}: {exc.strerror or exc}") from None
    finally:
        printer.close()


# -- pyusb, pyserial, CUPS: optional packages -------------------------------------------------

def _require(cls, what: str, package: str, hint: str):
    if not cls.is_usable():
        raise PrintFault(ERROR, f"{what}: the {package} package is not installed "
                         f"({hint})")


def _usb(cfg, data, deadline):
    ids = f"{cfg['vendor_id']:04x}:{cfg['product_id']:04x}"
    cls = escpos_printer.Usb
    _require(cls, f"usb {ids}", "pyusb", "pip install pyusb, or set printer.device to "
             "/dev/usb/lp0")
    # pyusb counts its timeout in milliseconds.
    printer = cls(cfg["vendor_id"], cfg["product_id"],
                  timeout=max(1, int(_left(deadline) * 1000)))
    _run_optional(printer, data, f"usb {ids}")


def _serial(cfg, data, deadline):
    cls = escpos_printer.Serial
    _require(cls, f"serial {cfg['device']}", "pyserial", "pip install pyserial")
    # The wire time comes on top: a raster ticket of ~80 kB needs ~7 s at 115200 baud
    # (10 bits a byte), ~45 s at 19200.
    deadline += len(data) * 10 / cfg["baudrate"]
    printer = cls(devfile=cfg["device"], baudrate=cfg["baudrate"], timeout=_left(deadline))

    def before_write():
        printer.device.write_timeout = _left(deadline)
    _run_optional(printer, data, f"serial {cfg['device']}", before_write)


def _cups(cfg, data):
    cls = escpos_printer.CupsPrinter
    _require(cls, f"cups {cfg['cups_name']}", "pycups",
             "pip install pycups; it builds against Debian's libcups2-dev")
    printer = cls(printer_name=cfg["cups_name"])
    try:
        _run_optional(printer, data, f"cups {cfg['cups_name']}")
    finally:
        printer.tmpfile.close()  # the job's spool file, left open when a job fails


def _run_optional(printer, data, what, before_write=None):
    """open, write, close, for transports whose errors come from optional packages."""
    try:
        try:
            printer.open()
        except DeviceNotFoundError as exc:
            raise PrintFault(UNREACHABLE, f"{what} not found: "
                             f"{str(exc).splitlines()[-1]}") from None
        if before_write:
            before_write()
        printer._raw(data)
        printer.close()  # CUPS submits the job here
    except PrintFault:
        raise
    except Exception as exc:  # usb.core.USBError, serial.SerialException, cups.IPPError
        kind = TIMEOUT if "timeout" in type(exc).__name__.lower() else ERROR
        raise PrintFault(kind, f"{what}: {exc}") from None
    finally:
        try:
            printer.close()
        except Exception:  # already reported above, or nothing was open
            log.debug("closing %s failed", what, exc_info=True)

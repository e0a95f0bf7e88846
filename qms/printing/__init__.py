"""Thermal ticket printing: the ticket drawn as one image (Pillow, DejaVu Sans, QR code),
encoded as ESC/POS raster with python-escpos, and sent by one worker per printer.

- ``ticket``: ``TicketPrint`` and ``render_ticket`` (the layout);
- ``text``: fonts, NFC, word wrap;
- ``transports``: ``encode_escpos`` and the network, USB, serial, CUPS and file transports;
- ``workers``: ``Printers``, the queues and worker threads, and fault reporting.
"""

from qms.printing.text import FontMissing
from qms.printing.ticket import TicketPrint, render_ticket
from qms.printing.transports import PrintFault, encode_escpos
from qms.printing.workers import Printers

__all__ = ["FontMissing", "PrintFault", "Printers", "TicketPrint", "encode_escpos",
           "render_ticket"]

"""Errors of the ID card reader driver, in the drivers' shape (``drivers.errors.DriverError``).

Each has a stable ``code`` (tests and the UI key on it), a Simplified Chinese ``message`` written
for the clerk at the window, and an English ``en`` text for technicians and the English UI.
"""

from __future__ import annotations

from drivers.errors import DriverError


class ReaderError(DriverError):
    code = "reader_error"


class PortError(ReaderError):
    """The serial port cannot be opened, or vanished while in use (USB cable pulled)."""

    code = "port_unavailable"


class ReaderTimeout(ReaderError):
    """The reader did not answer (in full) before the deadline."""

    code = "no_reply"


class FrameError(ReaderError):
    """Bytes that are not a well-formed frame."""

    code = "bad_frame"


class ChecksumError(FrameError):
    """A whole frame arrived but its XOR checksum is wrong: the reply is corrupt, never used."""

    code = "bad_checksum"


class StatusError(ReaderError):
    """The reader answered with an SW3 status other than the one the command expects."""

    code = "reader_status"

    def __init__(self, sw3: int, message: str, en: str):
        super().__init__(message, en=en, code=f"sw3_{sw3:02x}", sw3=sw3)
        self.sw3 = sw3


class NoCardError(ReaderError):
    """No card was placed before the deadline."""

    code = "no_card"


class CardLiftedError(ReaderError):
    """A card was found but taken away (or moved) before it could be read completely."""

    code = "card_lifted"


class CardDataError(ReaderError):
    """The card's text block cannot be understood (unknown card type, a date that is no date)."""

    code = "bad_card_data"


class NoReaderError(ReaderError):
    """Probing found no baud rate at which a reader answers."""

    code = "no_reader"

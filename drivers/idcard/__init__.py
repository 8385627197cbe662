"""ID card reader (SAM serial protocol). Imports nothing of the project.

    from drivers.idcard import Reader
    with Reader("COM3") as reader:          # baud found by probing
        card = reader.read_card(timeout=10)
        card.to_json()

See docs/idcard.md for what the driver does beyond the protocol and why.
"""

from .card import FOREIGN_2017, FOREIGN_2023, HMT_RESIDENCE, LONG_TERM, RESIDENT, CardData, parse_text
from .errors import (
    CardDataError,
    CardLiftedError,
    ChecksumError,
    FrameError,
    NoCardError,
    NoReaderError,
    PortError,
    ReaderError,
    ReaderTimeout,
    StatusError,
)
from .idnumber import mask, valid_number
from .poller import CARD_READ, CARD_REMOVED, READER_BACK, READER_LOST, CardPoller, PollerEvent
from .reader import BAUD_RATES, Reader, open_port
from .tap import TapFilter

__all__ = [
    "BAUD_RATES", "CARD_READ", "CARD_REMOVED", "FOREIGN_2017", "FOREIGN_2023", "HMT_RESIDENCE", "LONG_TERM",
    "READER_BACK", "READER_LOST", "RESIDENT", "CardData", "CardDataError", "CardLiftedError", "CardPoller",
    "ChecksumError", "FrameError", "NoCardError", "NoReaderError", "PollerEvent", "PortError", "Reader",
    "ReaderError", "ReaderTimeout", "StatusError", "TapFilter", "mask", "open_port", "parse_text", "valid_number",
]  # fmt: skip

"""What the serial devices (the ID card reader, a serial scanner) share: one pyserial port, held in
``_port`` while open, and a quiet close."""

from __future__ import annotations

from abc import ABC, abstractmethod

import serial


class SerialDevice(ABC):
    """A device on one serial port; a subclass's ``open()`` sets ``_port``. Usable as a context
    manager: ``with Device(...) as device:`` opens it and closes it again."""

    _port: serial.Serial | None = None

    @abstractmethod
    def open(self):
        """Open the port (setting ``_port``) and return ``self``."""

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                # The port is gone already (a USB cable pulled): there is nothing left to close.
                pass

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

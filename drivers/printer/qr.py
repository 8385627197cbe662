"""QR matrices, shared by the image-QR layout path and the renderer of native ``GS ( k`` QR, so
a native and an image QR of the same data come out module for module the same."""

from __future__ import annotations

from drivers.printer.errors import RenderError

_EC = {"L": 1, "M": 0, "Q": 3, "H": 2}  # qrcode.constants.ERROR_CORRECT_*
MAX_QR_BYTES = 2953  # version 40, level L, byte mode


def qr_matrix(data: bytes, ec: str = "M") -> list[list[bool]]:
    import qrcode
    from qrcode.exceptions import DataOverflowError

    if not data:
        raise RenderError("二维码内容为空", en="empty QR data", code="PRINTER_QR_EMPTY")
    if len(data) > MAX_QR_BYTES:
        raise RenderError(
            "二维码内容过长", en=f"QR data of {len(data)} bytes is too long", code="PRINTER_QR_TOO_LONG"
        )
    qr = qrcode.QRCode(version=None, error_correction=_EC[ec], box_size=1, border=0)
    # One byte-mode segment: how printers encode GS ( k data, and what we print as an image.
    qr.add_data(qrcode.util.QRData(data, mode=qrcode.util.MODE_8BIT_BYTE, check_data=False), optimize=0)
    try:
        qr.make(fit=True)
    except DataOverflowError as exc:
        raise RenderError(
            "二维码内容过长", en="QR data too long for level " + ec, code="PRINTER_QR_TOO_LONG"
        ) from exc
    return [list(map(bool, row)) for row in qr.get_matrix()]


def qr_raster(data: bytes, module: int, ec: str = "M") -> tuple[int, int, bytes]:
    """The QR as a 1-bit raster for ``GS v 0``: (width dots, height dots, row bytes)."""
    matrix = qr_matrix(data, ec)
    n = len(matrix)
    size = n * module
    width_bytes = (size + 7) // 8
    pad = width_bytes * 8 - size
    out = bytearray()
    for row in matrix:
        # Rows are whole bytes; split the padding so a centred image QR sits where a native one would.
        bits = [0] * (pad // 2)
        for dark in row:
            bits.extend([1 if dark else 0] * module)
        bits.extend([0] * (pad - pad // 2))
        line = bytearray()
        for i in range(0, len(bits), 8):
            byte = 0
            for b in bits[i : i + 8]:
                byte = (byte << 1) | b
            line.append(byte)
        out += bytes(line) * module
    return size, size, bytes(out)

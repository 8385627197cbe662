"""Finding a font with Chinese glyphs for the renderer (print preview, simulator, tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from drivers.printer.errors import FontNotFoundError

FONT_ENV = "KEZHAN_PRINTER_FONT"

KNOWN_FONTS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
]
WINDOWS_FONTS = ["simsun.ttc", "msyh.ttc", "simhei.ttf", "msyh.ttf"]


def _windows_candidates() -> list[str]:
    windir = os.environ.get("WINDIR") or os.environ.get("SystemRoot") or r"C:\Windows"
    return [str(Path(windir) / "Fonts" / name) for name in WINDOWS_FONTS]


def _fc_list() -> list[str]:
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    paths = []
    for line in out.splitlines():
        path = line.split(":", 1)[0].strip()
        if path.lower().endswith((".ttf", ".ttc", ".otf")):
            paths.append(path)
    # Sans/hei faces read better at 24 dots than song/ming faces; prefer them.
    return sorted(set(paths), key=lambda p: (0 if "hei" in p.lower() or "sans" in p.lower() else 1, p))


@lru_cache(maxsize=1)
def find_cjk_font() -> str:
    """The path of a font that has hanzi, or :class:`FontNotFoundError` listing where we looked."""
    explicit = os.environ.get(FONT_ENV)
    if explicit:
        if Path(explicit).is_file():
            return explicit
        raise FontNotFoundError(
            f"环境变量 {FONT_ENV} 指定的字体文件不存在：{explicit}",
            en=f"{FONT_ENV}={explicit} is not a font file",
        )
    candidates = (_windows_candidates() if sys.platform == "win32" else []) + KNOWN_FONTS + _fc_list()
    for path in candidates:
        if Path(path).is_file():
            return path
    raise FontNotFoundError(
        f"找不到中文字体，无法生成打印预览；请安装文泉驿微米黑（fonts-wqy-microhei）或设置 {FONT_ENV}",
        en="no font with Chinese glyphs found (looked in fontconfig and "
        + ", ".join(KNOWN_FONTS[:2] + [r"C:\Windows\Fonts\msyh.ttc"])
        + f"); install fonts-wqy-microhei or set {FONT_ENV}",
    )


@lru_cache(maxsize=8)
def load_font(size: int, path: str | None = None):
    """A Pillow font at ``size`` pixels, preferring a monospaced face inside a collection."""
    from PIL import ImageFont

    path = path or find_cjk_font()
    best = None
    for index in range(8):
        try:
            font = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        best = best or font
        if "mono" in " ".join(font.getname()).lower():
            return font
        if not path.lower().endswith(".ttc"):
            break
    if best is None:
        raise FontNotFoundError(f"无法加载字体 {path}", en=f"cannot load font {path}")
    return best

"""What the frozen terminal leaves out, shared by build/kezhan.spec and the bare-window baseline
(build/bare_window.spec), so the bundle-size ratio compares two builds made with the same options.

PyInstaller's Qt hooks collect every platform plugin and theme a PySide6 wheel carries, and the
system libraries those plugins link (GTK 3 and its stack for the GTK theme, Wayland's client
libraries). A ticket window uses X11 (xcb), Windows or, for screenshots and tests, offscreen; it
needs none of Wayland, EGLFS, VNC, linuxfb, the GTK 3 theme or the PDF/TIFF/WebP image readers.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from pathlib import PurePath

# Python packages the terminal never imports: the reference provincial server and its web stack,
# test and lint tools, packaging tools, and standard-library parts nobody here uses.
EXCLUDES = [
    "sync.server", "fastapi", "uvicorn", "starlette", "anyio", "sniffio", "h11", "httptools", "uvloop",
    "websockets", "watchfiles", "orjson", "click", "httpx", "httpcore", "psycopg", "psycopg_binary",
    "pytest", "_pytest", "pytestqt", "pytest_qt", "pytest_timeout", "pytest_benchmark", "hypothesis",
    "pluggy", "iniconfig", "py", "importlinter", "grimp", "ruff", "rich", "markdown_it", "mdurl",
    "pygments",
    "pip", "setuptools", "pkg_resources", "wheel", "PyInstaller",
    "tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "lib2to3", "pydoc_data", "test",
    "xmlrpc", "ensurepip", "venv",
    # The demo province's pinyin initials (app.demodata): pure Python, in the optional demo server part
    # (build/demo_server_part.py) with the server that generates the demo province.
    "pypinyin",
    # Ed25519 is libsodium's (PyNaCl); nothing the terminal runs imports cryptography, though an
    # optional import of urllib3's may find it in the build's environment.
    "cryptography",
    # Pillow's readers and writers for formats no ticket uses (AVIF, WebP, colour profiles, Tk):
    # their extension modules bring most of pillow.libs.
    "PIL._avif", "PIL.AvifImagePlugin", "PIL._webp", "PIL.WebPImagePlugin", "PIL._imagingcms", "PIL.ImageCms",
    "PIL._imagingtk", "PIL.ImageTk",
    # ... and the plugins of formats nothing here opens or writes (tickets are drawn, previews saved as
    # PNG; Pillow imports the plugins it finds and skips the others).
    *(f"PIL.{name}ImagePlugin" for name in (
        "Blp", "BufrStub", "Cur", "Dcx", "Dds", "Eps", "Fits", "Fli", "Fpx", "Ftex", "Gbr", "GribStub",
        "Hdf5Stub", "Icns", "Ico", "Im", "Imt", "Iptc", "Jpeg2K", "McIdas", "Mic", "Mpeg", "Msp", "Palm",
        "Pcd", "Pcx", "Pdf", "Pixar", "Psd", "Qoi", "Sgi", "Spider", "Sun", "Tga", "Wmf", "XVThumb", "Xbm",
        "Xpm")),
    "PIL.PdfParser", "PIL.ImageQt", "PIL.ImageShow", "PIL.ImageGrab", "PIL.ImageWin",
    # pydantic: the reference server's request bodies; the terminal's province schema is its own
    # (app/domain/province.py). The demo server part carries it.
    "pydantic", "pydantic_core", "annotated_types", "typing_inspection",
    # LibYAML's binding: python-escpos reads its printer profiles with yaml.safe_load, which is
    # PyYAML's pure-Python loader (PyYAML imports the binding only if it is there).
    "yaml._yaml", "_yaml",
    # Qt modules the terminal does not use (PySide6's hooks pull some in through its helpers).
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtPdf", "PySide6.QtSvg",
    "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSql", "PySide6.QtXml", "PySide6.QtDesigner",
    "PySide6.QtUiTools", "PySide6.QtConcurrent", "PySide6.QtPrintSupport", "PySide6.QtMultimedia",
]

# Symbol tables stripped from every shared library and extension module (POSIX `strip`), in both
# bundles: the loader never reads them. libpython alone carries 17 MB of debug information, the
# Cython modules of SQLAlchemy, PyYAML and Pillow most of their size. Windows DLLs carry none.
STRIP = not sys.platform.startswith("win")

# Data files left out: python-stdnum's tables of other countries' numbers (the terminal uses only its
# ISO 7064 check), and the time zones outside Asia (the stations' zones; Windows has no system database).
DROP_DATA = (re.compile(r"^stdnum[/\\].*\.dat$"),
             re.compile(r"^tzdata[/\\]zoneinfo[/\\](?!Asia[/\\]|Etc[/\\]|UTC$|GMT$|PRC$|zone|tzdata)"))

# Libraries a wheel vendors under a hashed name that the bundle also carries from the system, for Qt's
# xcb platform: Pillow's libXau (the X authorisation library, one ABI since the 1990s) is 12 KB of
# code padded to 2 MB by its 2 MB segment alignment. The vendored name is kept (Pillow's libxcb asks
# for it) with the system file's content.
TWINS = {"libXau": "libXau.so.6"}

# Top-level names that must not be inside a release bundle (build.sh checks the built tree too).
FORBIDDEN_TOP = ("fastapi", "uvicorn", "starlette", "pytest", "_pytest", "hypothesis", "httpx", "pytestqt")

# Qt plugins kept, by folder; a folder not named here is dropped whole.
KEEP_PLUGINS = {
    "platforms": ["*qxcb*", "*qoffscreen*", "*qwindows*", "*qcocoa*"],
    # Compose keys and IBus: typing a passenger's name with a Chinese input method on Linux.
    "platforminputcontexts": ["*"],
    "xcbglintegrations": ["*"],
    "imageformats": ["*qico*", "*qjpeg*"],
    "styles": ["*"],  # Windows: the native widget style
}

_PLUGIN_DIR = re.compile(r"(?:^|[/\\])plugins[/\\]([^/\\]+)[/\\]([^/\\]+)$")
_QT_LIB = re.compile(r"(?:lib)?Qt6(\w+?)(?:\.so(?:\.\d+)*|\.dll|\.dylib)$")
# Python extension modules and the interpreter: where every library a bundle needs is reached from.
_EXTENSION = re.compile(r"(\.cpython-[^.]+\.so|\.abi3\.so|\.pyd|\.so)$")


def _plugin_kept(dest: str) -> bool | None:
    """None when ``dest`` is not a Qt plugin; else whether it stays."""
    match = _PLUGIN_DIR.search(dest.replace("\\", "/"))
    if not match or "PySide6" not in dest:
        return None
    folder, name = match.groups()
    return any(fnmatch.fnmatch(name, pattern) for pattern in KEEP_PLUGINS.get(folder, []))


def _imports(path: str) -> list[str]:
    from PyInstaller.depend import bindepend

    try:
        return [PurePath(name).name for name, _resolved in bindepend.get_imports(path)]
    except Exception:  # a file the loader does not understand keeps what it had
        return []


def lean(a) -> None:
    """Drop the unused Qt plugins from ``a`` (an Analysis), then every shared library no kept
    binary needs any more (the plugins' own dependencies: GTK 3, Wayland, EGL device integrations)."""
    binaries = []
    for entry in a.binaries:
        kept = _plugin_kept(entry[0])
        if kept is False:
            continue
        binaries.append(entry)
    # Qt's own translations: the terminal translates its own strings (resources/i18n) and no Qt one.
    datas = [entry for entry in a.datas if _plugin_kept(entry[0]) is not False
             and not re.search(r"PySide6[/\\]Qt[/\\]translations[/\\]", entry[0])
             and not any(pattern.search(entry[0]) for pattern in DROP_DATA)]

    by_name = {PurePath(dest).name: (dest, src) for dest, src, _kind in binaries}
    for i, (dest, _src, kind) in enumerate(binaries):
        vendored = re.match(r"^(lib\w+)-[0-9a-f]{8}\.so", PurePath(dest).name)
        twin = TWINS.get(vendored.group(1)) if vendored else None
        if twin in by_name:
            binaries[i] = (dest, by_name[twin][1], kind)
    roots = []
    for dest, _src, kind in binaries:
        name = PurePath(dest).name
        if kind == "EXTENSION" or _plugin_kept(dest) or name.startswith(("libpython", "python3")) or "lib-dynload" in dest.replace("\\", "/"):
            roots.append(name)
        elif _EXTENSION.search(name) and not name.startswith("lib") and not _QT_LIB.search(name):
            roots.append(name)
    needed, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        todo.extend(_imports(by_name[name][1]))
    a.binaries[:] = [entry for entry in binaries if PurePath(entry[0]).name in needed
                     or not _is_shared_library(entry[0])]
    a.datas[:] = datas


def _is_shared_library(dest: str) -> bool:
    name = PurePath(dest).name
    return bool(re.search(r"\.so(\.\d+)*$|\.dll$|\.dylib$", name))


def tree_size(folder: str) -> int:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total

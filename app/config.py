"""The terminal's configuration: one TOML file in the data directory.

Only what a technician sets per machine lives here (which station, which terminal, where the
database and the devices are). Business rules (fares, ticket types, refund tiers) are data in the
store, because the province sends them.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app import paths
from app.domain.retention import DEFAULT_KEEP_DAYS, keep_days_problem
from app.errors import ConfigError

TERMINAL_ROLES = ("window", "gate", "both")


@dataclass
class StationConfig:
    code: str = ""
    timezone: str = "Asia/Shanghai"


@dataclass
class TerminalConfig:
    id: str = ""
    presale_days: int = 10
    language: str = "zh_CN"
    # What the machine is at the station: a ticket window, a gate (检票口) or both. A gate checker
    # signs in only on a gate or both terminal; a clerk only on a window or both one.
    role: str = "window"
    # The gate numbers this terminal checks at (docs/gate.md); empty: every gate of the station.
    gates: list[str] = field(default_factory=list)


@dataclass
class DatabaseConfig:
    path: str = ""
    # Days of departures (and of what was sold on them) the live file keeps; older rows the server
    # has acknowledged move to the monthly archive files beside it (docs/store.md).
    keep_days: int = DEFAULT_KEEP_DAYS


@dataclass
class PrinterConfig:
    target: str = ""
    profile: str = "80mm"
    # Pre-printed stock is never cut the same on two printers: where the calibration page's cross
    # fell off the form's mark, in mm (right and down positive). Applied to prints and previews.
    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0


@dataclass
class ReaderConfig:
    port: str = ""
    baud: str = "auto"


@dataclass
class ScannerConfig:
    port: str = ""


@dataclass
class ServerConfig:
    url: str = ""


@dataclass
class Config:
    station: StationConfig = field(default_factory=StationConfig)
    terminal: TerminalConfig = field(default_factory=TerminalConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    source: Path | None = None

    @property
    def db_path(self) -> Path:
        return Path(self.database.path) if self.database.path else paths.default_db_file()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.station.timezone)

    def validate(self) -> None:
        where = f" in {self.source}" if self.source else ""
        try:
            ZoneInfo(self.station.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"station.timezone{where}: unknown time zone {self.station.timezone!r}") from None
        if not 0 <= self.terminal.presale_days <= 60:
            raise ConfigError(f"terminal.presale_days{where}: must be 0..60, got {self.terminal.presale_days}")
        if self.terminal.language not in ("zh_CN", "en"):
            raise ConfigError(f"terminal.language{where}: must be zh_CN or en, got {self.terminal.language!r}")
        if self.terminal.role not in TERMINAL_ROLES:
            raise ConfigError(f"terminal.role{where}: must be window, gate or both, got {self.terminal.role!r}")
        problem = keep_days_problem(self.database.keep_days)
        if problem:
            raise ConfigError(f"database.keep_days{where}: {problem}")
        try:
            parse_gates(self.terminal.gates)
        except ValueError as exc:
            raise ConfigError(f"terminal.gates{where}: {exc}") from None
        for key in ("offset_x_mm", "offset_y_mm"):
            if not -20.0 <= getattr(self.printer, key) <= 20.0:
                raise ConfigError(f"printer.{key}{where}: must be -20..20 mm, got {getattr(self.printer, key)}")
        if self.reader.baud != "auto" and not str(self.reader.baud).isdigit():
            raise ConfigError(f"reader.baud{where}: must be 'auto' or a number, got {self.reader.baud!r}")

    def to_toml(self) -> str:
        # tomli-w, not string formatting: a hand-made writer got newlines and control characters
        # wrong, and the file would not read back.
        import tomli_w

        doc = {section.name: asdict(getattr(self, section.name)) for section in fields(self)
               if section.name != "source"}
        return tomli_w.dumps(doc)

    @property
    def gate_numbers(self) -> list[str]:
        return parse_gates(self.terminal.gates)


def parse_gates(text: str | list) -> list[str]:
    """``"3, 4"`` (as a technician types it) or ``[3, "4"]`` -> ``["3", "4"]``; a gate number is
    short text without spaces or commas."""
    if isinstance(text, list):
        gates = [str(part).strip() for part in text]
    else:
        gates = [part.strip() for part in str(text).replace("，", ",").split(",") if part.strip()]
    for gate in gates:
        if len(gate) > 8 or not gate.isalnum():
            raise ValueError(f"gate numbers are short letters or digits separated by commas, got {gate!r}")
    if len(set(gates)) != len(gates):
        raise ValueError("a gate number is listed twice")
    return gates


def load(path: Path | None = None) -> Config:
    """Read the config file (missing file: defaults). A bad value raises ConfigError."""
    path = path or Path(os.environ.get("KEZHAN_CONFIG") or paths.config_file())
    config = Config(source=path)
    if not path.exists():
        config.validate()
        return config
    if path.is_dir():
        raise ConfigError(
            f"配置文件应是一个文件，但 {path} 是一个文件夹",
            en=f"the configuration file {path} is a folder, not a file",
            code="CONFIG_NOT_FILE",
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML file ({exc})") from None
    except OSError as exc:
        raise ConfigError(
            f"无法读取配置文件 {path}（{exc.strerror or exc}）",
            en=f"cannot read the configuration file {path} ({exc.strerror or exc})",
            code="CONFIG_UNREADABLE",
        ) from None
    for section in fields(config):
        if section.name == "source" or section.name not in raw:
            continue
        values = raw[section.name]
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section.name}] must be a table")
        target = getattr(config, section.name)
        known = {f.name: f for f in fields(target)}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown setting {section.name}.{key}")
            expected = type(getattr(target, key))
            if expected is list:
                # Gate numbers: written as numbers or as text, kept as text ("3", "A2").
                if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool)
                                                          for v in value):
                    raise ConfigError(f"{path}: {section.name}.{key} must be a list like [1, 2], got {value!r}")
                setattr(target, key, [str(v) for v in value])
                continue
            if expected is float:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"{path}: {section.name}.{key} must be a number, got {value!r}")
                setattr(target, key, float(value))
                continue
            if expected is int and not (isinstance(value, int) and not isinstance(value, bool)):
                raise ConfigError(f"{path}: {section.name}.{key} must be a whole number, got {value!r}")
            if expected is str and not isinstance(value, str | int):
                raise ConfigError(f"{path}: {section.name}.{key} must be text, got {value!r}")
            setattr(target, key, str(value) if expected is str else value)
    config.validate()
    return config


def save(config: Config, path: Path | None = None) -> Path:
    """Write the file whole (a temporary file, then a rename): a crash leaves the old file or the
    new one, never half of one. A folder that cannot be written is one readable line."""
    config.validate()
    path = Path(path or config.source or paths.config_file())
    text = config.to_toml()
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(
            f"无法写入配置文件 {path}（{exc.strerror or exc}）：请以管理员身份运行一次，或设置 KEZHAN_HOME",
            en=f"cannot write the configuration file {path} ({exc.strerror or exc}): run once as an "
               "administrator, or set KEZHAN_HOME to a writable folder",
            code="CONFIG_UNWRITABLE",
        ) from None
    config.source = path
    return path

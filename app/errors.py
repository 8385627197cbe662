"""The user-facing error types (defined in app.domain.errors, which imports nothing)."""

from app.domain.errors import (  # noqa: F401
    ConfigError,
    DeviceError,
    KezhanError,
    RuleViolation,
    StorageError,
    SyncError,
)

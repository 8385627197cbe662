"""The audit log: who did what, when, on which terminal."""

from __future__ import annotations


def append_audit(
    cur, *, at: str, actor: str, terminal_id: str, action: str, subject: str, detail: str
) -> None:
    """One entry inside the caller's transaction; ``detail`` is canonical JSON."""
    cur.execute(
        "INSERT INTO audit_log (at, actor, terminal_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (at, actor, terminal_id, action, subject, detail),
    )

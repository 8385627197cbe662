"""The terminal's side of sync: enrolment, the outbox uploader, the feed puller and the lease keeper."""

from sync.client.client import Backoff, CycleReport, LeaseCoverage, SyncClient, SyncStatus
from sync.client.identity import enrol, load_identity, make_terminal
from sync.client.transport import BadAnswer, LinkDown, Transport

__all__ = [
    "Backoff",
    "BadAnswer",
    "CycleReport",
    "LeaseCoverage",
    "LinkDown",
    "SyncClient",
    "SyncStatus",
    "Transport",
    "enrol",
    "load_identity",
    "make_terminal",
]

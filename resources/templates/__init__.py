"""Ticket and slip templates (data): see docs/printing.md."""

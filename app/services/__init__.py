"""Counter operations. Each is one function over a :class:`~app.store.engine.Database`, runs one
transaction that also writes its outbox event, and takes ``now`` (an aware UTC datetime).
Printing happens after the call returns, from the :class:`PrintJob` it hands back.

The names below are loaded on first use: the counter window takes the station's lock (a light
module of this package) before it shows, and loads the operations and the ORM under them after."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "ChangeQuote": "app.services.aftersale",
    "ChangeResult": "app.services.aftersale",
    "RefundQuote": "app.services.aftersale",
    "RefundResult": "app.services.aftersale",
    "VoidQuote": "app.services.aftersale",
    "VoidResult": "app.services.aftersale",
    "approve": "app.services.aftersale",
    "change": "app.services.aftersale",
    "quote_change": "app.services.aftersale",
    "quote_refund": "app.services.aftersale",
    "quote_void": "app.services.aftersale",
    "refund": "app.services.aftersale",
    "reseat": "app.services.aftersale",
    "void": "app.services.aftersale",
    "PassengerIn": "app.services.sales",
    "PaymentIn": "app.services.sales",
    "PrintJob": "app.services.sales",
    "SaleResult": "app.services.sales",
    "TicketView": "app.services.sales",
    "find_tickets": "app.services.sales",
    "pickup": "app.services.sales",
    "reprint": "app.services.sales",
    "sell": "app.services.sales",
    "spoil_blank": "app.services.sales",
    "Settlement": "app.services.shifts",
    "ShiftInfo": "app.services.shifts",
    "close_shift": "app.services.shifts",
    "open_shift": "app.services.shifts",
    "preview_settlement": "app.services.shifts",
    "SignedIn": "app.services.auth",
    "login": "app.services.auth",
    "unlock": "app.services.auth",
    "TaskView": "app.services.tasks",
    "close_task": "app.services.tasks",
    "list_tasks": "app.services.tasks",
    "Terminal": "app.services.context",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from app.services.aftersale import (
        ChangeQuote,
        ChangeResult,
        RefundQuote,
        RefundResult,
        VoidQuote,
        VoidResult,
        approve,
        change,
        quote_change,
        quote_refund,
        quote_void,
        refund,
        reseat,
        void,
    )
    from app.services.auth import SignedIn, login, unlock
    from app.services.context import Terminal
    from app.services.sales import (
        PassengerIn,
        PaymentIn,
        PrintJob,
        SaleResult,
        TicketView,
        find_tickets,
        pickup,
        reprint,
        sell,
        spoil_blank,
    )
    from app.services.shifts import Settlement, ShiftInfo, close_shift, open_shift, preview_settlement
    from app.services.tasks import TaskView, close_task, list_tasks

__all__ = [
    "ChangeQuote",
    "ChangeResult",
    "PassengerIn",
    "PaymentIn",
    "PrintJob",
    "RefundQuote",
    "RefundResult",
    "SaleResult",
    "Settlement",
    "ShiftInfo",
    "SignedIn",
    "TaskView",
    "Terminal",
    "TicketView",
    "VoidQuote",
    "VoidResult",
    "approve",
    "change",
    "close_shift",
    "close_task",
    "find_tickets",
    "list_tasks",
    "login",
    "open_shift",
    "pickup",
    "preview_settlement",
    "quote_change",
    "quote_refund",
    "quote_void",
    "refund",
    "reprint",
    "reseat",
    "sell",
    "spoil_blank",
    "unlock",
    "void",
]

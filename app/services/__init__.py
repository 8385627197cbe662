"""Counter operations. Each is one function over a :class:`~app.store.engine.Database`, runs one
transaction that also writes its outbox event, and takes ``now`` (an aware UTC datetime).
Printing happens after the call returns, from the :class:`PrintJob` it hands back."""

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

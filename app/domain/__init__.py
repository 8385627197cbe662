"""Pure rules and value types of a road passenger station: no I/O, no database, no Qt.

Modules: ``money`` (fen, rounding), ``fares``, ``ticket_types``, ``refund``, ``change``,
``identity`` (documents, GB 11643), ``stock`` (paper stock, ticket ids), ``leases`` (seat leases,
offline budget, seat picking), ``schedule`` (departure instants, stop-sale) and ``ticket_code``
(signed codes for the gate). What the rules refuse is a :class:`~app.domain.errors.RuleViolation`
with a stable ``code``; see ``docs/domain.md``.
"""

"""The terminal's SQLite store: models, engine and migrations, province loading, queries, maintenance.

``engine.open_database`` is the way in; docs/store.md describes the schema and its life cycle.
"""

"""Alembic environment, run only programmatically by :func:`app.store.engine.migrate`.

The caller passes an open SQLAlchemy connection in ``config.attributes["connection"]``; there is no
alembic.ini and no URL here, so a shipped terminal needs nothing beside the package.
"""

from alembic import context

from app.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

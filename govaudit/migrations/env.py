"""Alembic environment: the engine comes from govaudit.db, never from an ini file."""

from alembic import context

from govaudit.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # the alembic command line: govaudit's default URL
    from govaudit.db import make_engine

    engine = make_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

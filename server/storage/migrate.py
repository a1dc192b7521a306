"""``motcua db upgrade``: apply the Alembic migrations shipped in ``migrations/``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run on every start."""
    cfg = alembic_config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def revision(db: Database, message: str) -> None:  # developer tool: autogenerate a new migration
    cfg = alembic_config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)



@lru_cache(maxsize=1)
def _script():
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def head_revisions() -> set[str]:
    """The newest revision(s) this code ships."""
    return set(_script().get_heads())


@lru_cache(maxsize=64)
def known_revision(rev: str) -> bool:
    """Whether ``rev`` is one of the migrations this code ships (else a newer motcua wrote it)."""
    return rev in {r.revision for r in _script().walk_revisions()}


def current_revision(db: Database) -> str | None:
    """The revision stamped in the database (None: an empty database). Read directly: no alembic
    context, so the health check stays cheap and quiet."""
    from sqlalchemy import inspect, text

    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        heads = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return ",".join(sorted(heads)) if heads else None

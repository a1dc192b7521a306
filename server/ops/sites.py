"""Checks the command line makes before it writes something that names a site."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from server.storage.db import Database
from server.storage.tables import sites


class UnknownSite(LookupError):
    pass


def require_site(db: Database, site: str | None) -> None:
    """Refuse a site id that is not in the database, naming the ones that are."""
    if site is None:
        return
    try:
        with db.read() as conn:
            known = [r[0] for r in conn.execute(select(sites.c.id).order_by(sites.c.id))]
    except (OperationalError, ProgrammingError):
        raise UnknownSite("the database has no schema yet: run motcua db upgrade, then motcua site load FILE") from None
    if site not in known:
        listed = ", ".join(known) if known else "none yet"
        raise UnknownSite(f"site {site!r} does not exist (known: {listed}); load it first: motcua site load FILE")

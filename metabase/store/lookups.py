"""Small named look-ups over a store connection, for services that must check an id before they
write (the SQL stays here, in the store).
"""

from __future__ import annotations


def dataset_known(con, dataset_id: int) -> bool:
    """Whether the store's ``datasets`` table holds ``dataset_id``."""
    if "datasets" not in con.tables():
        return False
    return bool(
        con.scalar("SELECT count(*) FROM datasets WHERE dataset_id = ?", [int(dataset_id)])
    )

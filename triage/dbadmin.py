"""`python -m triage.dbadmin ensure-database URL`: create the PostgreSQL database
the production profile points at, if it does not exist yet."""
from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def ensure_database(url: str) -> bool:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return False
    admin = create_engine(parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": parsed.database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                return True
    finally:
        admin.dispose()
    return False


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "ensure-database":
        sys.exit("usage: python -m triage.dbadmin ensure-database URL")
    if ensure_database(sys.argv[2]):
        print(f"==> Created database {make_url(sys.argv[2]).database}")

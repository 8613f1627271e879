"""Create Mistral's tables from its SQLAlchemy models, in the database its config names.

Run with the Mistral venv's Python: ``python sync_db.py --config-file mistral.conf``.

Why not ``mistral-db-manage upgrade head``: Mistral's alembic migrations ALTER constraints,
which SQLite cannot do. Mistral's own SQLite path is to create the schema from the models
(what its former ``tools/sync_db.py`` did) and then ``mistral-db-manage stamp head``, so
that alembic takes the schema for the newest revision; ``scripts/mistral`` does both.
"""

import sys

import mistral.config
import mistral.db.v2.api


def main() -> int:
    # parse_args registers Mistral's options (logging's among them) and reads the
    # --config-file given on the command line.
    mistral.config.parse_args()
    # Creates every table of the models (Workbook.metadata holds them all) on the
    # engine of [database] connection.
    mistral.db.v2.api.setup_db()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m collab``: the command line (see :mod:`collab.cli`)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()

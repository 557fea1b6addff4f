"""Run the collab server: ``python app.py [--host H] [--port P] [--database URL] [--async-mode M]``.

Serves on http://127.0.0.1:5000 with a SQLite file (collab.db) in the working
directory by default. ``python app.py --help`` lists every option.
"""

from collab.server import main

if __name__ == "__main__":
    main()

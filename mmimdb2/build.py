"""Keeps ``python -m mmimdb2.build`` working; the builder itself is the package :mod:`mmimdb2.builder`.

The builder used to live in ``mmimdb2/build/``. It was renamed because GitHub's standard Python
``.gitignore`` and many global excludes ignore every folder called ``build/``, so new files there
silently never reached ``git add .``. This module only runs the builder's command line when
executed as ``__main__``; it re-exports nothing (import from :mod:`mmimdb2.builder`).
"""

if __name__ == "__main__":
    import sys

    from mmimdb2.builder.cli import main

    sys.exit(main())

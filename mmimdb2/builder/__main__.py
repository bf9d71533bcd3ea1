"""Entry point of ``python -m mmimdb2.builder`` (``python -m mmimdb2.build`` and the ``mmimdb2-build``
script run the same :func:`mmimdb2.builder.cli.main`)."""

from __future__ import annotations

import sys

from mmimdb2.builder.cli import main

if __name__ == "__main__":
    sys.exit(main())

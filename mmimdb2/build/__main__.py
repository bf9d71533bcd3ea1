"""Entry point of ``python -m mmimdb2.build`` and the ``mmimdb2-build`` script."""

from __future__ import annotations

import sys

from mmimdb2.build.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m rtagents`` is the ``rtagents`` command."""

import sys

from rtagents.cli import main

sys.exit(main())

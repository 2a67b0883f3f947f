"""``python -m rtagents`` is the ``rtagents`` command."""

import sys

from rtagents.apps.cli import main

sys.exit(main())

"""``python -m painsign`` runs the command line."""

import sys

from painsign.cli import main

sys.exit(main())

"""`python -m desktop.cli …`: the `tessera` command."""

import sys

from desktop.cli import main

sys.exit(main())

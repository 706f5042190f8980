"""`python -m modelcrate` runs the command line."""

import sys

from modelcrate.cli import main

sys.exit(main())

"""`python -m bot.cli`: the command line."""

import sys

from bot.cli import main

sys.exit(main())

"""``python -m bot.staff``: the staff command line (bot/staff/cli.py)."""
import sys

from bot.staff.cli import main

sys.exit(main())

"""python -m bot.nlu.e5engine build|status"""
import sys

from bot.nlu.e5engine import main

sys.exit(main())

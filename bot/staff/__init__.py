"""Staff tools: edit FAQ content from a spreadsheet, the command line or the admin web page.

    python -m bot.staff --help        # the command line (bot/staff/cli.py)
    python -m bot.staff.web           # the admin web page (bot/staff/web.py)

Every edit goes through bot/staff/store.py, which writes the YAML files (comments and order kept),
checks the result with the rules of tests/test_content.py (bot/staff/rules.py) and appends to the
audit log (.state/audit.log). A guide for ward staff: docs/staff.md.
"""

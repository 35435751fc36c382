"""A chat-ops command parsed with docopt, a package published only as a pure-Python sdist
(docopt 0.6.2 has no wheel on the index), so lambundle builds its wheel while locking."""

import docopt

USAGE = """Deploy bot.

Usage:
  ship deploy <service> [--region=<region>] [--dry-run]
  ship rollback <service> <version>

Options:
  --region=<region>  AWS region [default: eu-west-1].
  --dry-run          Say what would happen.
"""


def handler(event, context):
    try:
        return {"ok": True, "command": docopt.docopt(USAGE, argv=event["text"].split())}
    except docopt.DocoptExit as exc:
        return {"ok": False, "usage": str(exc).strip()}

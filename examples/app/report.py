# /// script
# requires-python = ">=3.10"
# dependencies = ["six"]
# ///
"""Report: a single PEP 723 script, its dependency in the comment block above."""

import six


def handler(event, context):
    return {"function": "report", "six": six.__version__, "event": event}

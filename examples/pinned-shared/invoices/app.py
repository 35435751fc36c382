"""The other function sharing the pinned dependency bundle."""

import requests


def handler(event, context):
    return {"function": "invoices", "requests": requests.__version__}

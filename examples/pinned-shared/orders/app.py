"""One of two functions sharing one pinned dependency bundle."""

import requests


def handler(event, context):
    return {"function": "orders", "requests": requests.__version__}

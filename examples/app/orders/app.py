"""Orders: shares its requirements (requests) with invoices/, so one pinned layer serves both."""

import os

import requests


def handler(event, context):
    return {
        "function": "orders",
        "requests": requests.__version__,
        "table": os.environ.get("TABLE_NAME"),
        "memory": context.memory_limit_in_mb,
    }

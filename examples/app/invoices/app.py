"""Invoices: the same requirements as orders/ (requests), so the same pinned layer."""

import os

import requests


def lambda_handler(event, context):
    return {
        "function": "invoices",
        "requests": requests.__version__,
        "stage": os.environ.get("STAGE"),
        "currency": os.environ.get("CURRENCY"),
    }

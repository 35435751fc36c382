"""A function with a pure-Python dependency; it builds a request without sending it."""

import requests


def handler(event, context):
    url = (
        event.get("url", "https://example.com/")
        if isinstance(event, dict)
        else "https://example.com/"
    )
    prepared = requests.Request("GET", url, params={"q": "lambda"}).prepare()
    return {"requests": requests.__version__, "url": prepared.url}

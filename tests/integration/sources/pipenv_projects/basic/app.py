import sys

import requests


def handler(event, context):
    try:
        import tomli
    except ImportError:
        tomli = None
    return {
        "requests": requests.__version__,
        "tomli": None if tomli is None else "present",
        "python": "{}.{}".format(*sys.version_info[:2]),
    }

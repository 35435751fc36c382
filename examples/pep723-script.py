# /// script
# requires-python = ">=3.10"
# dependencies = ["requests"]
# ///
"""A PEP 723 script: its dependencies are in the block above. The runtime calls main()
with the request body on stdin; what it prints is the response."""

import json
import sys

import requests


def main():
    body = sys.stdin.read() or "{}"
    event = json.loads(body)
    print(json.dumps({"requests": requests.__version__, "keys": sorted(event)}))


if __name__ == "__main__":
    main()

"""Echo: the request body arrives on stdin, what goes to stdout is the response."""

import sys


def main():
    sys.stdout.write(sys.stdin.read())

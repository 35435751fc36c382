"""A script that does nothing: the response body is empty."""


def main():
    pass

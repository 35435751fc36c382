"""A script that greets: what main() prints is the response."""


def main():
    print("hello from a script")

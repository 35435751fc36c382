import charset_normalizer
import requests
import six


def handler(event, context):
    return {
        "requests": requests.__version__,
        "six": six.__version__,
        "charset_normalizer": charset_normalizer.__version__,
    }

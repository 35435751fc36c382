"""A catalogue feed in, thumbnails out: the XML is parsed with lxml (XPath over a namespaced
document), each product's picture drawn with Pillow, shrunk to a thumbnail and encoded as JPEG
and WebP (the codecs Pillow's wheel bundles as shared libraries)."""

import hashlib
import io

from lxml import etree
from PIL import Image, ImageDraw, features

NS = {"c": "urn:example:catalogue"}


def thumbnail(width: int, height: int, colour: str, fmt: str) -> dict:
    picture = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(picture).ellipse((10, 10, width - 10, height - 10), fill=colour)
    picture.thumbnail((128, 128))
    encoded = io.BytesIO()
    picture.save(encoded, format=fmt, quality=80)
    reread = Image.open(io.BytesIO(encoded.getvalue()))
    return {"format": reread.format, "size": list(reread.size),
            "sha256": hashlib.sha256(encoded.getvalue()).hexdigest()[:16]}


def handler(event, context):
    feed = etree.fromstring(event["feed"].encode())
    products = []
    for product in feed.xpath("//c:product[@available='true']", namespaces=NS):
        image = product.find("c:image", NS)
        products.append({
            "sku": product.get("sku"),
            "name": product.findtext("c:name", namespaces=NS),
            "jpeg": thumbnail(int(image.get("width")), int(image.get("height")),
                              image.get("colour"), "JPEG"),
            "webp": thumbnail(int(image.get("width")), int(image.get("height")),
                              image.get("colour"), "WEBP"),
        })
    return {
        "products": products,
        "skipped": len(feed.xpath("//c:product[@available='false']", namespaces=NS)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "codecs": {name: features.check(name) for name in ("jpg", "webp", "zlib")},
    }

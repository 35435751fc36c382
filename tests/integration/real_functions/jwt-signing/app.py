"""Issue and check access tokens: an ES256 JWT signed with a key made at init (cryptography's
OpenSSL), verified with its public key, and refused when checked against another key."""

import time

import jwt
from cryptography.hazmat.backends.openssl.backend import backend
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
EDDSA_KEY = ed25519.Ed25519PrivateKey.generate()


def handler(event, context):
    now = int(time.time())
    claims = {"sub": event["sub"], "scope": event["scope"], "iat": now, "exp": now + 300}
    token = jwt.encode(claims, SIGNING_KEY, algorithm="ES256", headers={"kid": "k1"})
    verified = jwt.decode(token, SIGNING_KEY.public_key(), algorithms=["ES256"])
    try:
        jwt.decode(token, OTHER_KEY.public_key(), algorithms=["ES256"])
        forged = "accepted"
    except jwt.InvalidSignatureError as exc:
        forged = f"refused: {exc}"
    eddsa = jwt.encode({"sub": event["sub"]}, EDDSA_KEY, algorithm="EdDSA")
    return {
        "header": jwt.get_unverified_header(token),
        "claims": {k: verified[k] for k in ("sub", "scope")},
        "forged": forged,
        "eddsa_sub": jwt.decode(eddsa, EDDSA_KEY.public_key(), algorithms=["EdDSA"])["sub"],
        "openssl": backend.openssl_version_text(),
    }

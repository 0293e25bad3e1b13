"""API tokens: issued at random, stored as SHA-256 only.

Why SHA-256 and not a password hash (bcrypt, argon2): a token is 256 random
bits, not something a person chose, so nobody can guess it from its hash and
a slow hash buys nothing; a fast one lets each request find its token by an
indexed lookup of the hash.

>>> len(hash_token("ew_abc")), hash_token("ew_abc") == hash_token("ew_abc")
(64, True)
>>> new_token().startswith("ew_")
True
"""
from __future__ import annotations

import hashlib
import secrets

PREFIX = "ew_"


def new_token() -> str:
    """A fresh bearer token (letters, digits, ``-`` and ``_``: a valid RFC 6750 b64token)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()

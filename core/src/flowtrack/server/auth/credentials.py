"""Passwords and API tokens: hashing, checking and generating, with the standard library only.

Passwords are hashed with scrypt (memory-hard, so guessing on GPUs is expensive) with a random
16-byte salt per password; PBKDF2-SHA256 is the fallback where OpenSSL lacks scrypt. The stored
text names the algorithm and its parameters, so the cost can be raised later and old hashes
still verify. Tokens are 32 random bytes: nobody can guess one, so a fast SHA-256 of it is
enough to keep the database from holding usable secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flowtrack.errors import InvalidInputError

# OWASP's scrypt setting N=2^15, r=8, p=3: 32 MiB and about 0.3 s per hash on one core. The
# server keeps a short-lived cache of successful checks (service.py), so a client sending
# Basic credentials on every request pays this once, not per request.
SCRYPT_COST: tuple[int, int, int] = (2**15, 8, 3)
PBKDF2_ITERATIONS = 600_000
TOKEN_PREFIX = "ftk_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD_LENGTH = 8
# scrypt reads the whole password; a cap keeps a megabyte-long "password" from costing more.
MAX_PASSWORD_LENGTH = 1024
_SALT_BYTES = 16
_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) is exactly what N=2^15, r=8 needs, with no headroom.
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=4 * 128 * r * n
    )


def check_password_text(password: object) -> str:
    if not isinstance(password, str):
        raise InvalidInputError("password", "***", "must be a string")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            "password",
            "***",
            f"is shorter than {MIN_PASSWORD_LENGTH} characters; choose a longer one",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(
            "password", "***", f"is longer than {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def hash_password(password: str) -> str:
    """The text to store for ``password``: algorithm, parameters, salt and key."""
    check_password_text(password)
    salt = secrets.token_bytes(_SALT_BYTES)
    raw = password.encode("utf-8")
    if hasattr(hashlib, "scrypt"):
        n, r, p = SCRYPT_COST
        return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(raw, salt, n, r, p))}"
    key = hashlib.pbkdf2_hmac("sha256", raw, salt, PBKDF2_ITERATIONS, _KEY_BYTES)
    return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (from `hash_password`), in constant time."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    raw = password.encode("utf-8")
    try:
        algorithm, *fields = stored.split("$")
        if algorithm == "scrypt":
            n, r, p, salt, key = int(fields[0]), int(fields[1]), int(fields[2]), *fields[3:]
            computed = _scrypt(raw, _unb64(salt), n, r, p)
        elif algorithm == "pbkdf2_sha256":
            iterations, salt, key = int(fields[0]), fields[1], fields[2]
            computed = hashlib.pbkdf2_hmac("sha256", raw, _unb64(salt), iterations, _KEY_BYTES)
        else:
            return False
        return hmac.compare_digest(computed, _unb64(key))
    except (ValueError, IndexError):  # a damaged hash never matches; it must not crash a request
        return False


# Checked against when the user does not exist, so that a wrong name takes as long as a wrong
# password and response times do not reveal which user names exist.
_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(password, _DUMMY_HASH)


def generate_password() -> str:
    """A random password for a new admin or a reset: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


def new_token() -> str:
    """A new API token: a recognizable prefix (secret scanners and people can spot it) and 32
    random bytes."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    return text.startswith(TOKEN_PREFIX) and len(text) > len(TOKEN_PREFIX) + 20

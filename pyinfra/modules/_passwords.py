"""Password hashes as the database servers store them, made on the controller: the
password itself never travels to the host, and what is stored can be compared with it
without reading it back (the facts give a SHA-256 of the stored text)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

from pyinfra.api.secrets import secret

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


def saslprep(password: str) -> bytes:
    """The bytes PostgreSQL hashes for a password (RFC 4013 SASLprep); a password
    SASLprep refuses is hashed as its UTF-8 bytes, as PostgreSQL does."""
    raw = password.encode("utf-8")
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in password
        if not stringprep.in_table_b1(char)
    )
    text = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12,
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
        stringprep.in_table_a1,
    )
    if not text or any(check(char) for char in text for check in prohibited):
        return raw
    right_to_left = [stringprep.in_table_d1(char) for char in text]
    if any(right_to_left):
        if any(stringprep.in_table_d2(char) for char in text) or not (right_to_left[0] and right_to_left[-1]):
            return raw
    return text.encode("utf-8")


def new_salt() -> bytes:
    return os.urandom(16)


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (a new random salt
    unless given)."""
    salt = new_salt() if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return secret(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}")


def digest(stored: str) -> str:
    return hashlib.sha256(stored.encode("utf-8")).hexdigest()


def postgres_password_matches(stored: dict | None, role: str, password: str) -> bool:
    """Whether the role's stored password (the postgresql_roles fact's `password`) is
    `password`. An unknown one raises ValueError: it cannot be compared."""
    if not stored:
        return False
    kind = stored.get("type")
    if kind == "unknown":
        raise ValueError("unknown")
    if kind == "scram-sha-256":
        try:
            salt = base64.b64decode(stored["salt"], validate=True)
        except (ValueError, TypeError):
            return False
        made = scram_verifier(password, salt, int(stored["iterations"]))
        return hmac.compare_digest(digest(made), stored["digest"])
    if kind == "md5":
        made = "md5" + hashlib.md5((password + role).encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest(made), stored["digest"])
    return False


def mysql_native_hash(password: str) -> str:
    """What mysql_native_password stores: `*` and the SHA-1 of the SHA-1, in capitals."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()
    return secret("*" + hashlib.sha1(inner).hexdigest().upper())


def mysql_password_matches(account: dict | None, password: str) -> bool:
    """Whether the account (a mysql_users entry) logs in with mysql_native_password and
    `password`."""
    if not account or account.get("plugin") != "mysql_native_password" or not account.get("password_digest"):
        return False
    return hmac.compare_digest(digest(mysql_native_hash(password)), account["password_digest"])

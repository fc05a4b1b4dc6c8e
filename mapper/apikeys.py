"""API keys: roles, hashed storage in a JSON file beside the store, verification.

A key is a random token shown once when it is created; only its SHA-256 hash is stored
(keys are 256-bit random tokens, so a fast hash is enough: nothing to brute-force, unlike a
password). The file sits in the embedded store's folder (`.aims/apikeys.json`), or in the
working folder for a memory or remote store, and is rewritten atomically with mode 0600.
A running server re-reads it when it changes, so a revoked key stops working at once.

Roles are ordered: `reader` (read everything) < `contributor` (also ingest) < `admin` (also
delete batches and manage keys).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mapper.errors import InputError, NotFound, StoreUnavailable

ROLES = ("reader", "contributor", "admin")
"""The roles, weakest first: each includes the rights of those before it."""

KEYS_ENV = "AIMS_API_KEYS"
_PREFIX = "aims_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class KeyFileDamaged(StoreUnavailable):
    """The key file cannot be read or parsed: a server fault, not the caller's mistake.

    The CLI prints the message (it names the file); the API answers 503 with a generic
    message and logs this one (api/errors.py)."""

    code = "server_fault"


def role_allows(role: str, needed: str) -> bool:
    """True when `role` includes the rights of `needed`.

    >>> role_allows("admin", "reader"), role_allows("reader", "contributor")
    (True, False)
    """
    return ROLES.index(role) >= ROLES.index(needed)


def default_keys_file(store: str | None = None) -> Path:
    """Where the keys live: $AIMS_API_KEYS, else `<store folder>/apikeys.json`.

    A memory or remote store has no folder, so its keys live in `./.aims-apikeys.json`.

    >>> default_keys_file("memory").name
    '.aims-apikeys.json'
    """
    from mapper.store import beside_store  # not at import: `aims --help` lists ROLES

    return beside_store(store, "apikeys.json", env=KEYS_ENV)


def hash_key(key: str) -> str:
    """The stored form of a key.

    >>> hash_key("aims_x")[:7]
    'sha256:'
    """
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One stored key: its name, role, hash, creation time and the first characters shown."""

    name: str
    role: str
    hash: str
    created: str
    hint: str


class KeyRing:
    """The keys of one file; cached and re-read when the file changes.

    >>> import tempfile, pathlib
    >>> ring = KeyRing(pathlib.Path(tempfile.mkdtemp()) / "keys.json")
    >>> key = ring.create(name="ci", role="contributor")
    >>> ring.verify(key).role, ring.verify("aims_wrong")
    ('contributor', None)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    def _load(self) -> dict[str, ApiKey]:
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._keys = None, {}
                return self._keys
            except OSError as exc:
                raise KeyFileDamaged(f"the API key file cannot be read ({exc.strerror}); "
                                     "check its permissions", ref=str(self.path)) from exc
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return self._keys
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                keys = {k["name"]: ApiKey(**k) for k in data.get("keys", [])}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise KeyFileDamaged(
                    f"the API key file is damaged ({exc}); fix or delete it", ref=str(self.path)
                ) from exc
            except OSError as exc:
                raise KeyFileDamaged(f"the API key file cannot be read ({exc.strerror}); "
                                     "check its permissions", ref=str(self.path)) from exc
            self._stamp, self._keys = stamp, keys
            return keys

    def _save(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"keys": [asdict(k) for k in keys.values()]}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".apikeys-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(body + "\n")
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise

    def entries(self) -> list[ApiKey]:
        """The stored keys (hashes only), sorted by name."""
        return sorted(self._load().values(), key=lambda k: k.name)

    def create(self, *, name: str, role: str) -> str:
        """Store a new key and return it: the only time the key itself is seen."""
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not _NAME.fullmatch(name):
            raise InputError(
                f"key name {name!r} must be 1-64 letters, digits or . _ @ - (no spaces)"
            )
        keys = dict(self._load())
        if name in keys:
            raise InputError(f"a key named {name!r} exists; revoke it first or pick another name")
        key = _PREFIX + secrets.token_urlsafe(32)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        keys[name] = ApiKey(name=name, role=role, hash=hash_key(key), created=created,
                            hint=key[:9] + "...")
        self._save(keys)
        return key

    def revoke(self, name: str) -> None:
        """Delete a key by name; NotFound when there is none."""
        keys = dict(self._load())
        if name not in keys:
            raise NotFound(f"no API key named {name!r}; `aims apikey list` shows them")
        del keys[name]
        self._save(keys)

    def verify(self, key: str) -> ApiKey | None:
        """The stored key matching `key`, or None."""
        digest = hash_key(key)
        found = None
        for stored in self._load().values():
            if hmac.compare_digest(stored.hash, digest):
                found = stored
        return found

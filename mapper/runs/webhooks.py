"""Webhooks: signed JSON deliveries from a persistent outbox, retried with backoff.

Everything lives in one SQLite file beside the store (`<store folder>/webhooks.sqlite`;
memory and remote stores: `./.aims-webhooks.sqlite`; `$AIMS_WEBHOOKS` overrides), so a
restart or a receiver outage loses nothing: an event is written to the outbox (one row per
subscription) in the same transaction that finds its subscribers, and a delivery row stays
`pending` until a receiver answers 2xx.

- events: finding.opened, finding.closed (from the owner-task log, mapper.runs.tasks),
  gate.denied (a gate decision that denies), attestation.due (a business unit's inventory
  attestation fell due: an INV-01 task opened, sent to whom it is routed, the unit's head);
- signature: header `X-AIMS-Signature: sha256=HEX`, HEX = HMAC-SHA256(secret, TIMESTAMP + "." +
  BODY) with TIMESTAMP the `X-AIMS-Timestamp` header (Unix seconds); `X-AIMS-Event` and
  `X-AIMS-Delivery` (the outbox id; receivers de-duplicate on it) are sent too;
- retry: after the n-th failed attempt the next is due `base * 2**(n-1)` seconds later (base
  30 s, `AIMS_WEBHOOK_BACKOFF`); after 8 attempts the delivery is `failed`;
- every attempt is logged (status code or error, duration) in the delivery log.

`deliver_due` sends what is due; `aims webhooks deliver [--loop]` is the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mapper.errors import InputError, NotFound

DB_ENV = "AIMS_WEBHOOKS"
BACKOFF_ENV = "AIMS_WEBHOOK_BACKOFF"
EVENTS = ("finding.opened", "finding.closed", "gate.denied", "attestation.due")
RULE_EVENTS = {"INV-01": "attestation.due"}
"""Rules whose task opening is an event of its own besides finding.opened (INV-01: the unit
has no attestation current at the date, so one is due)."""
MAX_ATTEMPTS = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, secret TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, subscription TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, next_at REAL NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    delivery TEXT NOT NULL, attempt INTEGER NOT NULL, at REAL NOT NULL, status_code INTEGER,
    error TEXT, ms REAL NOT NULL);
"""


def default_db(store: str | None = None) -> Path:
    """Where subscriptions, outbox and log live.

    >>> default_db("memory").name
    '.aims-webhooks.sqlite'
    """
    from mapper.store import beside_store  # not at import: `aims --help` lists EVENTS

    return beside_store(store, "webhooks.sqlite", env=DB_ENV)


@contextmanager
def _db(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.row_factory = sqlite3.Row
    try:
        con.executescript(_SCHEMA)
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def parse_events(text: str) -> list[str]:
    events = [e.strip() for e in text.split(",") if e.strip()]
    bad = [e for e in events if e not in EVENTS]
    if bad or not events:
        raise InputError(f"unknown event(s) {', '.join(bad) or '(none)'}: use "
                         f"{', '.join(EVENTS)} (comma-separated)")
    return events


def add(path: Path, url: str, events: list[str], secret: str | None = None) -> dict[str, Any]:
    """Subscribe URL to events; returns the subscription with its secret (shown once here)."""
    if not re.match(r"^https?://[^\s/]+", url):
        raise InputError(f"webhook URL {url!r} is not http(s)://HOST/...: give the receiver's "
                         "full URL")
    sub = {"id": "wh-" + secrets.token_hex(4), "url": url, "events": events,
           "secret": secret or secrets.token_urlsafe(24)}
    with _db(path) as con:
        con.execute("INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?)",
                    (sub["id"], url, ",".join(events), sub["secret"], time.time()))
    return sub


def subscriptions(path: Path) -> list[dict[str, Any]]:
    """The subscriptions, secrets left out."""
    with _db(path) as con:
        rows = con.execute("SELECT id, url, events FROM subscriptions ORDER BY created").fetchall()
    return [{"id": r["id"], "url": r["url"], "events": r["events"].split(",")} for r in rows]


def remove(path: Path, sub_id: str) -> None:
    with _db(path) as con:
        if con.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,)).rowcount == 0:
            raise NotFound(f"no webhook {sub_id!r}: see `aims webhooks list`")
        con.execute("UPDATE outbox SET status = 'cancelled' WHERE subscription = ? AND "
                    "status = 'pending'", (sub_id,))


def emit(path: Path, event: str, data: dict[str, Any]) -> int:
    """Put one event in the outbox for every subscriber; the number of deliveries queued."""
    if event not in EVENTS:
        raise InputError(f"unknown event {event!r}")
    if not path.exists():
        return 0  # no subscriptions were ever made: nothing to queue
    now = time.time()
    queued = 0
    with _db(path) as con:
        for sub in con.execute("SELECT id, events FROM subscriptions").fetchall():
            if event not in sub["events"].split(","):
                continue
            did = "dl-" + secrets.token_hex(8)
            body = json.dumps({"id": did, "event": event, "created": int(now), "data": data},
                              sort_keys=True, default=str)
            con.execute("INSERT INTO outbox VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
                        (did, sub["id"], event, body, now, now))
            queued += 1
    return queued


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _backoff() -> float:
    return float(os.environ.get(BACKOFF_ENV, "30"))


def deliver_due(path: Path, *, now: float | None = None, timeout: float = 10
                ) -> list[dict[str, Any]]:
    """Send every pending delivery that is due; the attempts made."""
    if not path.exists():
        return []
    moment = time.time() if now is None else now
    with _db(path) as con:
        due = con.execute(
            "SELECT o.id, o.event, o.body, o.attempts, s.url, s.secret FROM outbox o JOIN "
            "subscriptions s ON s.id = o.subscription WHERE o.status = 'pending' AND "
            "o.next_at <= ? ORDER BY o.created", (moment,)).fetchall()
    import httpx  # only a delivery needs it (not `aims --help`)

    made = []
    for row in due:
        body = row["body"].encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-AIMS-Event": row["event"],
                   "X-AIMS-Delivery": row["id"], "X-AIMS-Timestamp": stamp,
                   "X-AIMS-Signature": sign(row["secret"], stamp, body)}
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            code = httpx.post(row["url"], content=body, headers=headers, timeout=timeout
                              ).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - started) * 1000
        attempt = row["attempts"] + 1
        ok = code is not None and 200 <= code < 300
        if ok:
            status, next_at = "delivered", moment
        elif attempt >= MAX_ATTEMPTS:
            status, next_at = "failed", moment
        else:
            status, next_at = "pending", time.time() + _backoff() * 2 ** (attempt - 1)
        with _db(path) as con:
            con.execute("UPDATE outbox SET status = ?, attempts = ?, next_at = ? WHERE id = ?",
                        (status, attempt, next_at, row["id"]))
            con.execute("INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?)",
                        (row["id"], attempt, time.time(), code, error, ms))
        made.append({"delivery": row["id"], "event": row["event"], "url": row["url"],
                     "attempt": attempt, "status_code": code, "error": error,
                     "status": status, "next_at": next_at if status == "pending" else None})
    return made


def deliveries(path: Path) -> list[dict[str, Any]]:
    """The delivery log: every outbox row with its attempts."""
    if not path.exists():
        return []
    with _db(path) as con:
        rows = con.execute("SELECT o.*, s.url FROM outbox o LEFT JOIN subscriptions s ON "
                           "s.id = o.subscription ORDER BY o.created").fetchall()
        tries = con.execute("SELECT * FROM attempts ORDER BY at").fetchall()
    per: dict[str, list[dict[str, Any]]] = {}
    for t in tries:
        per.setdefault(t["delivery"], []).append(
            {"attempt": t["attempt"], "at": t["at"], "status_code": t["status_code"],
             "error": t["error"], "ms": round(t["ms"], 1)})
    return [{"id": r["id"], "subscription": r["subscription"], "url": r["url"],
             "event": r["event"], "status": r["status"], "attempts": per.get(r["id"], []),
             "next_at": r["next_at"] if r["status"] == "pending" else None}
            for r in rows]

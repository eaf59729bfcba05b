#!/usr/bin/env python3
"""Sign Go-Live Ledger events as a trust: the `Golive-Signature` header of each event.

Usage: sign_event.py TRUST_KEY_FILE EVENTS.jsonl

TRUST_KEY_FILE is what `golive trust-key new TRUST` wrote:
    PRIVATE+KEY+<TRUST>+<key id, 8 hex digits>+<base64 of 0x01 || 32-byte Ed25519 seed>
Each line of EVENTS.jsonl must be an event in canonical form (docs/EVENTS.md, "Canonical bytes
and the chain hash"): the ledger checks the signature against the canonical bytes it stores.
Prints one header value per line, in input order. Publish each event with it, e.g. (nats-py):

    await js.publish(subject, canonical,
                     headers={"Nats-Msg-Id": event_id, "Golive-Signature": header})

Needs the `cryptography` package (Debian: python3-cryptography).
"""
import base64
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# What is signed: this context, then the event's canonical bytes.
SIGNING_CONTEXT = b"golive-event-signature-v1\n"


def read_key(path):
    """The trust's name, key id and private key from a `golive trust-key` file."""
    text = open(path, encoding="ascii").read().strip()
    # The base64 key may itself hold "+": split from the left.
    private, key_word, name, key_id, key = text.split("+", 4)
    if (private, key_word) != ("PRIVATE", "KEY"):
        sys.exit(f"{path}: not a golive trust key (PRIVATE+KEY+<trust>+<id>+<key>)")
    raw = base64.b64decode(key)
    if len(raw) != 33 or raw[0] != 0x01:
        sys.exit(f"{path}: not an Ed25519 key")
    return name, int(key_id, 16), Ed25519PrivateKey.from_private_bytes(raw[1:])


def header(key_id, private_key, canonical):
    """base64(key id as 4 bytes big-endian || Ed25519 signature of context || canonical)."""
    signature = private_key.sign(SIGNING_CONTEXT + canonical)
    return base64.b64encode(key_id.to_bytes(4, "big") + signature).decode("ascii")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    _name, key_id, private_key = read_key(sys.argv[1])
    with open(sys.argv[2], "rb") as events:
        for line in events:
            canonical = line.rstrip(b"\r\n")
            if canonical:
                print(header(key_id, private_key, canonical))


if __name__ == "__main__":
    main()

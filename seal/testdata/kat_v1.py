#!/usr/bin/env python3
"""Check the sealed format v1 known-answer vectors with an implementation
written from docs/FORMATS.md section 1 alone, independent of the Go code.

    python3 kat_v1.py kat_v1.txt

For every vector it builds the header from the fields in the file's
comments, derives the keys, and seals the plaintext: header, MAC, each chunk
tag, the payload of the short ones, the size and the SHA-256 must equal the
file's. The other way, it verifies the file's header MAC, opens the file's
payloads, checks that the sealed size follows from the size formula, and
that a flipped byte or a truncation is refused. It prints one line per
vector and exits non-zero at the first difference.

Only Debian's python3-cryptography is needed (AESGCM, HKDF, HMAC).
"""

import hashlib
import hmac
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"IMGWSEAL"
VERSION = 1
CHUNK = 65536
TAG = 16
ENC_CHUNK = CHUNK + TAG


class FormatError(Exception):
    pass


def u32(n):
    return n.to_bytes(4, "big")


def text(field, s, limit):
    b = s.encode("ascii")
    if not 1 <= len(b) <= limit or any(c < 0x21 or c > 0x7E for c in b):
        raise FormatError("bad %s %r" % (field, s))
    return bytes([len(b)]) + b


def header(salt, image_id, owner, key_id, key_version):
    """FORMATS.md 1.1: every byte from the magic through the key version."""
    assert len(salt) == 32
    return (MAGIC + bytes([VERSION]) + u32(CHUNK) + salt
            + text("image id", image_id, 64) + text("owner", owner, 64)
            + text("key id", key_id, 128) + u32(key_version))


def keys(data_key, salt, hdr):
    """FORMATS.md 1.2: HKDF-SHA256, info "imgward-seal-v1\\x00" || header."""
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt,
               info=b"imgward-seal-v1\x00" + hdr).derive(data_key)
    return okm[:32], okm[32:]


def nonce(i, last):
    """FORMATS.md 1.3: u88(i) || flag."""
    return i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal(data_key, salt, fields, plaintext):
    hdr = header(salt, *fields)
    payload_key, mac_key = keys(data_key, salt, hdr)
    mac = hmac.new(mac_key, hdr, hashlib.sha256).digest()
    aead = AESGCM(payload_key)
    n = max(1, -(-len(plaintext) // CHUNK))
    out = [hdr, mac]
    for i in range(n):
        out.append(aead.encrypt(nonce(i, i == n - 1), plaintext[i * CHUNK:(i + 1) * CHUNK], None))
    return b"".join(out)


def parse_header(sealed):
    """The header's length without the MAC, from its length bytes (1.1)."""
    if sealed[:8] != MAGIC or sealed[8] != VERSION or sealed[9:13] != u32(CHUNK):
        raise FormatError("not a sealed v1 file")
    at = 13 + 32
    for limit in (64, 64, 128):
        n = sealed[at]
        if not 1 <= n <= limit:
            raise FormatError("bad length byte")
        at += 1 + n
    return at + 4


def open_sealed(data_key, sealed):
    """FORMATS.md 1.4 and 1.5: check the MAC, the layout, then each chunk."""
    hl = parse_header(sealed)
    if len(sealed) < hl + 32:
        raise FormatError("truncated header")
    hdr, mac = sealed[:hl], sealed[hl:hl + 32]
    payload_key, mac_key = keys(data_key, hdr[13:45], hdr)
    if not hmac.compare_digest(mac, hmac.new(mac_key, hdr, hashlib.sha256).digest()):
        raise InvalidTag("header MAC")
    p = len(sealed) - hl - 32
    n = max(1, -(-p // ENC_CHUNK))
    last = p - ENC_CHUNK * (n - 1)
    if p < TAG or last < TAG or (last == TAG and n > 1):
        raise InvalidTag("non-canonical layout")
    aead = AESGCM(payload_key)
    body = sealed[hl + 32:]
    return b"".join(aead.decrypt(nonce(i, i == n - 1), body[i * ENC_CHUNK:(i + 1) * ENC_CHUNK], None)
                    for i in range(n))


def read_vectors(path):
    """The file: '# name value' comments, then blocks of 'key value' lines."""
    params, vectors = {}, []
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "#":
                if words[1] in ("data", "salt", "header") and len(words) >= 3:
                    if words[1] == "data":  # "# data key HEX"
                        params["key"] = bytes.fromhex(words[3])
                    elif words[1] == "salt":
                        params["salt"] = bytes.fromhex(words[2])
                    else:
                        params.update(w.split("=", 1) for w in words[2:])
                continue
            if words[0] == "vector":
                vectors.append({"size": int(words[1].split("=")[1]), "tags": {}})
            elif words[0].startswith("chunk") and words[0].endswith("-tag"):
                vectors[-1]["tags"][int(words[0][5:-4])] = bytes.fromhex(words[1])
            else:
                vectors[-1][words[0]] = words[1]
    return params, vectors


def check(cond, what):
    if not cond:
        raise SystemExit("kat_v1.py: FAIL: " + what)


def main(path):
    params, vectors = read_vectors(path)
    key, salt = params["key"], params["salt"]
    fields = (params["image_id"], params["owner"], params["key_id"], int(params["key_version"]))
    check(len(vectors) >= 4, "fewer than 4 vectors in " + path)
    for v in vectors:
        size, name = v["size"], "plaintext-size=%d" % v["size"]
        plain = bytes(i % 251 for i in range(size))
        sealed = seal(key, salt, fields, plain)
        file_hdr = bytes.fromhex(v["header"])
        hl = len(file_hdr)
        # Sealing reproduces the file's bytes.
        check(sealed[:hl] == file_hdr, name + ": header and MAC differ")
        check(len(sealed) == int(v["sealed-size"]), name + ": sealed size differs")
        check(hashlib.sha256(sealed).hexdigest() == v["sealed-sha256"], name + ": SHA-256 differs")
        n = max(1, -(-size // CHUNK))
        check(sorted(v["tags"]) == list(range(n)), name + ": chunk count differs")
        for i, tag in v["tags"].items():
            end = hl + min((i + 1) * ENC_CHUNK, len(sealed) - hl)
            check(sealed[end - TAG:end] == tag, name + ": chunk %d tag differs" % i)
        check(len(sealed) == hl + size + TAG * n, name + ": size formula (1.4)")
        # Opening: the file's own bytes where it holds them whole.
        check(open_sealed(key, sealed) == plain, name + ": does not open")
        if "payload" in v:
            check(open_sealed(key, file_hdr + bytes.fromhex(v["payload"])) == plain,
                  name + ": the file's payload does not open")
        # Tampering is refused: a flipped byte anywhere, a cut at a chunk end.
        for at in (10, hl - 1, hl + 5, len(sealed) - 1):
            bad = bytearray(sealed)
            bad[at] ^= 1
            try:
                open_sealed(key, bytes(bad))
                check(False, name + ": flipped byte %d opens" % at)
            except (InvalidTag, FormatError):
                pass
        if n > 1:
            try:
                open_sealed(key, sealed[:hl + ENC_CHUNK])
                check(False, name + ": truncation at a chunk boundary opens")
            except InvalidTag:
                pass
        print("ok", name)
    print("kat_v1.py: %d vectors agree with %s" % (len(vectors), path))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "kat_v1.txt")

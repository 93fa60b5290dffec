#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/<target>/seed-*: a few valid inputs per target,
from the project's own known answers (Go's sumdb note and tlog tests, the c2sp.org
examples, the CLI tests' CSV files) and, for receipts and signed checkpoints, a small
tree signed with the Go test key PeterNeumann. Deterministic; run it again after a
format changes: python3 fuzz/seeds.py (needs the `cryptography` package)."""

import base64
import hashlib
import hmac
import json
import pathlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

# golang.org/x/mod/sumdb/note note_test.go
PETER_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
PETER_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
             "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5"
             "ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n")


def sign(text: str) -> str:
    """A signed note by PeterNeumann (key ID c74f20a3)."""
    sig = Ed25519PrivateKey.from_private_bytes(PETER_SEED).sign(text.encode())
    blob = bytes.fromhex("c74f20a3") + sig
    return f"{text}\n\u2014 PeterNeumann {base64.b64encode(blob).decode()}\n"


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(root(leaves[:k]), root(leaves[k:]))


def inclusion(index, leaves):
    """RFC 9162 §2.1.3.1 PATH, from the leaf's sibling up."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return inclusion(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion(index - k, leaves[k:]) + [root(leaves[:k])]


def checkpoint(origin, size, hash_):
    return f"{origin}\n{size}\n{base64.b64encode(hash_).decode()}\n"


def receipt(entries, index, origin="example.com/jifen-fuzz"):
    leaves = [leaf(e) for e in entries]
    cp = sign(checkpoint(origin, len(leaves), root(leaves)))
    lines = ["c2sp.org/tlog-proof@v1", f"extra {base64.b64encode(entries[index]).decode()}",
             f"index {index}"]
    lines += [base64.b64encode(h).decode() for h in inclusion(index, leaves)]
    return "\n".join(lines) + "\n\n" + cp


def bundle(entries):
    return b"".join(struct.pack(">H", len(e)) + e for e in entries)


def link(region, event, exp):
    key = bytes([7] * 32)  # the fuzz target's link key
    tag = hmac.new(key, f"{region}\n{event}\n{exp}".encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(tag).decode().rstrip("=")
    return f"http://127.0.0.1:8080/checkin/{region}/{event}?exp={exp}&sig={sig}"


def api(kind, ct, body):
    return bytes([kind, ct]) + json.dumps(body, ensure_ascii=False).encode()


ENTRIES = [f"entry {i}".encode() for i in range(7)]
SPEC_RECEIPT = ("c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n"
                "index 73894\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
                "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\nexample.com/fancylog\n109482\n"
                "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\u2014 example.com/fancylog hI2DJwAAAA==\n")

SEEDS = {
    "checkpoint": {
        "go-tree": "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "extensions": "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n\u2014 two\n",
        "seven": checkpoint("example.com/jifen-fuzz", 7, root([leaf(e) for e in ENTRIES])),
    },
    "signed_note": {
        "go-two-sigs": f"{PETER_VKEY}\n{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}",
        "go-enoch": f"{ENOCH_VKEY}\n{GO_TEXT}\n{ENOCH_SIG}",
        "checkpoint": f"{PETER_VKEY}\n" + sign(checkpoint("example.com/jifen-fuzz", 7, root([leaf(e) for e in ENTRIES]))),
    },
    "receipt": {
        "spec": SPEC_RECEIPT,
        "seven-3": receipt(ENTRIES, 3),
        "seven-6": receipt(ENTRIES, 6),
        "one-0": receipt(ENTRIES[:1], 0),
    },
    "witness_request": {
        "spec": ("old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
                 "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
                 "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\n"
                 "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u2014 example.com/behind-the-sofa "
                 "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"),
        "from-nothing": "old 0\n\n" + sign(checkpoint("PeterNeumann", 7, root([leaf(e) for e in ENTRIES]))),
        "same-size": "old 3\n\n" + sign(checkpoint("PeterNeumann", 3, root([leaf(e) for e in ENTRIES[:3]]))),
    },
    "tile_path": {
        "full": "tile/0/x001/x234/067",
        "partial": "tile/5/x123/x456/078.p/2",
        "entries": "tile/entries/000.p/17",
        "top": "tile/63/000.p/255",
    },
    "entry_bundle": {
        "three": bundle([b"ab", b"", b"\xff" * 300]),
        "entries": bundle(ENTRIES),
    },
    "csv_import": {
        "members": "member,household,name\n1,1,张三\n2,1,李四\n3,x,王五\n",
        "members-crlf": "\ufeffmember,household,name,household_label\r\n1,1,张三,东头\r\n\r\n2,1,李四\r3,2,王五\r\n",
        "entries": "member,kind,amount,indicator,indicator_version,quantity\n1,award,5,cleanup,1,1\n2,deduction,-3,litter,,\n3,base-grant,100,,,\n",
        "quoted": "member,household,name\n\"4\",\"1\",\"赵 \"\"六\"\"\nline\"\n",
        # What found the CRLF line-number bug (fixed in crates/store/src/import_csv.rs).
        "crlf-first-row": "\ufeffmember,household,name,household_label\r\n1,1,mber,h五\r\n",
    },
    "checkin_link": {
        "link": link("vil", 3, 1_767_225_600_000),
        "page": "/c/tx-gaoqiao/12?exp=1767225600000&sig=a-b_c",
        "typed": " http://127.0.0.1:8080/checkin/vil/3?exp=5&sig=x ",
        "structured": bytes([3, 3, 0, 0, 0]) + struct.pack("<q", 1_767_225_600_000) + b"abcvil",
    },
    "api_json": {
        "login": api(0, 0, {"username": "admin", "password": "demo"}),
        "claim": api(1, 1, {"member": 3, "indicator": "cleanup", "quantity": 1, "note": "打扫", "present": True}),
        "levels": api(6, 0, [{"code": "l1", "name": "一星", "min_score": 10}]),
        "event": api(12, 2, {"name": "3月村民议事会", "indicator": "meeting",
                             "starts_at": "2026-03-10T09:00:00+08:00", "ends_at": "2026-03-10T11:00:00+08:00"}),
        "checkin": api(13, 0, {"region": "vil", "event": 3, "exp": 5, "sig": "abc"}),
        "reserve": api(18, 0, {"reward": 1, "member": 3, "present": False}),
        "appeal-plain": api(10, 3, {"statement": "not mine"}),
    },
}

for target, seeds in SEEDS.items():
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in seeds.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / f"seed-{name}").write_bytes(data)
print(f"wrote {sum(len(s) for s in SEEDS.values())} seeds into {CORPUS}")

"""Content fingerprints: an exact hash for copies, MinHash bands for near-copies (same story)."""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

NUM_PERM = 64
# 16 bands of 4 rows: pairs whose shingle Jaccard similarity is above ~0.5 share a band with
# high probability ((1/16) ** (1/4) ~= 0.5); candidates are then checked on the full signature.
BANDS = 16
ROWS = NUM_PERM // BANDS
SAME_STORY_SIMILARITY = 0.5
SHINGLE_WORDS = 3
_SEED = 20201102

_WORD = re.compile(r"\w+", re.UNICODE)
_LITTLE_ENDIAN = sys.byteorder == "little"


# MurmurHash3's 32-bit finalizer, which datasketch's affine schemes apply to each hash first.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


@cache
def _permutations() -> tuple[Any, Any]:
    """datasketch's affine32 permutations for our seed: h -> a * h + b (mod 2^32), `a` odd,
    drawn as datasketch draws them (NumPy's ``RandomState``, whose stream NumPy keeps fixed)."""
    import numpy as np

    generator = np.random.RandomState(_SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def normalise_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the form both fingerprints are taken of."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:32]


def _shingles(text: str) -> Iterable[bytes]:
    words = _WORD.findall(normalise_text(text))
    if len(words) < SHINGLE_WORDS:
        return [" ".join(words).encode("utf-8")]
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8")
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def _shingle_hashes(text: str) -> list[int]:
    """datasketch's default hash (``sha1_hash32``: the first four bytes of a shingle's SHA-1
    digest, little-endian) of every shingle, read from all the digests at once rather than
    unpacked one call at a time (a third of a signature's time)."""
    digests = b"".join(hashlib.sha1(shingle).digest() for shingle in _shingles(text))
    return (
        memoryview(digests).cast("I")[::5].tolist()
        if _LITTLE_ENDIAN
        else [int.from_bytes(digests[i : i + 4], "little") for i in range(0, len(digests), 20)]
    )


def minhash_signature(text: str) -> bytes:
    """The MinHash of the text's 3-word shingles, as bytes to store (4 bytes per permutation).

    Bit for bit what ``datasketch.MinHash(num_perm=64, seed=20201102, scheme="affine32")``
    gives after ``update_batch`` of the shingles (tests/test_fingerprints.py checks it against
    datasketch), computed here with NumPy alone: importing datasketch imports all of its
    sketches and SciPy with them, about 60 MB in every extraction worker's process tree for
    code that never runs.
    """
    import numpy as np

    a, b = _permutations()
    s1, m1, s2, m2, s3 = _FMIX32
    hashes = np.array(_shingle_hashes(text), dtype=np.uint32).reshape(-1, 1)
    hashes ^= hashes >> np.uint32(s1)
    hashes *= np.uint32(m1)
    hashes ^= hashes >> np.uint32(s2)
    hashes *= np.uint32(m2)
    hashes ^= hashes >> np.uint32(s3)
    values = (hashes * a + b).min(axis=0)  # wraps modulo 2^32, as the scheme means
    return values.astype("<u4").tobytes()


def band_keys(signature: bytes) -> list[int]:
    """One signed 64-bit key per band (the band index is part of the key)."""
    width = ROWS * 4  # bytes per band: ROWS little-endian 32-bit values
    keys = []
    for band in range(BANDS):
        chunk = signature[band * width : (band + 1) * width]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    if len(a) != len(b) or not a or len(a) % 4:
        return 0.0
    # Equal 4-byte values are equal byte strings, whatever the byte order.
    count = len(a) // 4
    return sum(a[i : i + 4] == b[i : i + 4] for i in range(0, len(a), 4)) / count

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
# The scheme is pinned: stored signatures must stay comparable across datasketch releases.
_SCHEME = "affine32"


@cache
def _datasketch() -> tuple[Any, Any, Any]:
    """datasketch and its permutations, imported on first use: it brings SciPy (~80 MB), which
    only the processes that compute signatures (the extraction workers) need to hold."""
    from datasketch import LeanMinHash, MinHash

    permutations = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations
    return MinHash, LeanMinHash, permutations


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


def _given(value: int) -> int:
    return value


def minhash_signature(text: str) -> bytes:
    """The MinHash of the text's 3-word shingles, as bytes to store (4 bytes per permutation)."""
    minhash, lean_minhash, permutations = _datasketch()
    mh = minhash(
        num_perm=NUM_PERM, seed=_SEED, permutations=permutations, scheme=_SCHEME, hashfunc=_given
    )
    mh.update_batch(_shingle_hashes(text))
    return lean_minhash(mh).hashvalues.astype("<u4").tobytes()


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

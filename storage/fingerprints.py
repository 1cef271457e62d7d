"""Content fingerprints: an exact hash for copies, MinHash bands for near-copies (same story)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
from datasketch import LeanMinHash, MinHash

NUM_PERM = 64
# 16 bands of 4 rows: pairs whose shingle Jaccard similarity is above ~0.5 share a band with
# high probability ((1/16) ** (1/4) ~= 0.5); candidates are then checked on the full signature.
BANDS = 16
ROWS = NUM_PERM // BANDS
SAME_STORY_SIMILARITY = 0.5
SHINGLE_WORDS = 3
_SEED = 20201102

_WORD = re.compile(r"\w+", re.UNICODE)
# The scheme is pinned: stored signatures must stay comparable across datasketch releases.
_SCHEME = "affine32"
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations


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


def minhash_signature(text: str) -> bytes:
    """The MinHash of the text's 3-word shingles, as bytes to store (4 bytes per permutation)."""
    mh = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=_PERMUTATIONS, scheme=_SCHEME)
    mh.update_batch(list(_shingles(text)))
    return LeanMinHash(mh).hashvalues.astype("<u4").tobytes()


def band_keys(signature: bytes) -> list[int]:
    """One signed 64-bit key per band (the band index is part of the key)."""
    values = np.frombuffer(signature, dtype="<u4")
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    va = np.frombuffer(a, dtype="<u4")
    vb = np.frombuffer(b, dtype="<u4")
    if len(va) != len(vb) or len(va) == 0:
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)

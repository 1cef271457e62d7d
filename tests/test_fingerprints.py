"""The stored MinHash signatures are datasketch's, bit for bit, though computed without it."""

from __future__ import annotations

import random

from storage import fingerprints


def test_signatures_are_datasketchs_affine32_minhash_bit_for_bit() -> None:
    from datasketch import LeanMinHash, MinHash

    rng = random.Random(20201102)
    words = (
        "the of and army troops ceasefire shelling погибли войска обстрел serangan pasukan "
        "Karabakh Stepanakert 東京 ñandú 2026 شهداء"
    ).split()
    texts = ["", "one", "two words", "a b c", "A  b\tC\n d"]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 600))) for _ in range(200)]
    permutations = MinHash(
        num_perm=fingerprints.NUM_PERM, seed=fingerprints._SEED, scheme="affine32"
    ).permutations
    for text in texts:
        reference = MinHash(
            num_perm=fingerprints.NUM_PERM,
            seed=fingerprints._SEED,
            permutations=permutations,
            scheme="affine32",
            hashfunc=lambda value: value,
        )
        reference.update_batch(fingerprints._shingle_hashes(text))
        expected = LeanMinHash(reference).hashvalues.astype("<u4").tobytes()
        assert fingerprints.minhash_signature(text) == expected, text[:80]


def test_near_copies_are_similar_and_different_texts_are_not() -> None:
    rng = random.Random(7)
    words = [f"w{n}" for n in range(3000)]
    text = " ".join(rng.choice(words) for _ in range(400))
    edited = text.replace(text.split()[100], "changed", 1) + " with one more sentence at the end"
    other = " ".join(rng.choice(words) for _ in range(400))
    a, b, c = (fingerprints.minhash_signature(t) for t in (text, edited, other))
    assert fingerprints.similarity(a, b) >= fingerprints.SAME_STORY_SIMILARITY
    assert fingerprints.similarity(a, c) < 0.2
    assert set(fingerprints.band_keys(a)) & set(fingerprints.band_keys(b))

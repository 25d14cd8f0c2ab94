"""The alphabets of the built-in tasks (SPEC section 2).

DNA is ``ACGT`` (other IUPAC letters are rejected by default); protein is the 20
standard amino acids plus ``X`` for unknown, with ``B``, ``Z``, ``U`` and ``O``
mapped to ``X`` (counted in a warning).
"""

from __future__ import annotations

from attrbench.core.contract import Alphabet

__all__ = ["DNA", "PROTEIN"]

DNA = Alphabet("dna", "ACGT")
PROTEIN = Alphabet(
    "protein", "ACDEFGHIKLMNPQRSTVWYX", (("B", "X"), ("Z", "X"), ("U", "X"), ("O", "X"))
)

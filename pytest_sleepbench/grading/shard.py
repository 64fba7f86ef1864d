"""Shards: a class graded on several machines, each grading a stable part of it.

A submission's shard is drawn from a SHA-256 of its name, so every machine, every Python
version and every run puts it in the same shard (``hash()`` is salted per process), and the
shards of one N hold each submission exactly once.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["Shard", "parse_shard", "shard_of"]

Shard = tuple[int, int]
"""(K, N): the K-th of N shards, counted from 1."""

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> Shard:
    """``"K/N"`` as (K, N); ValueError saying what is wrong and what is meant otherwise."""
    match = _FORM.match(text)
    if match is None:
        raise ValueError(f"expected K/N (this machine grades shard K of N, e.g. 2/3), got "
                         f"{text!r}")
    k, n = int(match[1]), int(match[2])
    if n < 1:
        raise ValueError(f"N must be at least 1, got {text!r}")
    if not 1 <= k <= n:
        raise ValueError(f"K must be from 1 to N (shards are counted from 1), got {text!r}")
    return k, n


def shard_of(name: str, n: int) -> int:
    """The shard, from 1 to ``n``, that grades the submission named ``name``."""
    # surrogateescape gives back the bytes of a folder name that is not UTF-8.
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1

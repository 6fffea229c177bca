"""The extractor's output is identical to the stored golden snapshot (tests/extractors/_snapshot.py).

A refactoring must keep every hash. A deliberate change of behaviour regenerates the snapshot
(``python -m tests.extractors._snapshot --write``) in the same commit, saying so.
"""

from __future__ import annotations

import pytest

from . import _snapshot


@pytest.fixture(scope="module")
def stored() -> dict:
    return _snapshot.load()["groups"]


def test_snapshot_has_every_group_with_its_count(stored):
    for group in _snapshot.GROUPS:
        if group in _snapshot.SHARED_GROUPS and group not in stored:
            continue  # written where ../shared was absent
        assert group in stored, group
        assert stored[group]["count"] == len(stored[group]["docs"]) > 0, group


@pytest.mark.parametrize("group", list(_snapshot.GROUPS))
def test_output_identical_to_snapshot(group, stored):
    why = _snapshot.available(group)
    if why:
        pytest.skip(why)
    if group not in stored:
        pytest.skip(f"the snapshot was written without group {group}")
    now = _snapshot.compute(group)
    problems = _snapshot.compare(group, stored[group]["docs"], now)
    assert not problems, "\n".join(problems[:30]) + (f"\n... {len(problems)} in all" if len(problems) > 30 else "")
    assert len(now) == stored[group]["count"]

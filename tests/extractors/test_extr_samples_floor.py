"""Floor on the project's own sample corpus (samples/expected-events.jsonl is in the repo,
so this test never skips).

The floors are the scores reached when they were set, rounded down to 0.05:
overall F1 0.872, partnership 0.914, summit 0.750 (ruleset rules-ca0ac2e4b31f).
A change may not lower these floors without saying so, and why, in its commit message.
"""

from __future__ import annotations

from ._samples import SAMPLES, score_docs, split
from extractors.scoring import load_gold

FLOOR_OVERALL = 0.85
FLOOR_BY_TYPE = {"partnership": 0.90, "summit": 0.75}
EPS = 1e-9


def test_samples_f1_floor():
    assert SAMPLES.is_file()
    rep = score_docs(load_gold(SAMPLES))
    assert rep.overall.f1 >= FLOOR_OVERALL - EPS, rep.to_dict()
    for t, floor in FLOOR_BY_TYPE.items():
        assert rep.by_type[t].f1 >= floor - EPS, (t, rep.by_type[t].to_dict())


def test_split_is_by_first_letter_and_complete():
    tune, held = split()
    assert tune and held
    assert all("a" <= d["id"][0].lower() <= "m" for d in tune)
    assert not any("a" <= d["id"][0].lower() <= "m" for d in held)
    assert len(tune) + len(held) == len(load_gold(SAMPLES))

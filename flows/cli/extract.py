"""Commands over the extractor alone: extract (events of a text) and eval (scores against gold)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from flows.cli.options import PROJECT_ROOT, DbOption
from flows.cli.output import console, errors_are_messages, say_error
from flows.errors import BadInput, DefwatchError


@errors_are_messages
def extract(
    file: Annotated[Optional[Path], typer.Argument(help="A text file with one article.")] = None,
    published: Annotated[Optional[str], typer.Option(
        help="Publication date: YYYY-MM-DD, YYYY-MM or YYYY (relative dates resolve only as far as it allows).")] = None,
    jsonl: Annotated[Optional[Path], typer.Option(
        help="Documents in the gold format, one a line: {\"id\", \"published\", \"text\"}.")] = None,
    db: DbOption = Path("defwatch.duckdb"),
) -> None:
    """Print the events of one text (one JSON object per event and line), or of a JSONL file of
    documents (one line per document: {"id": ..., "events": [...]}). A bad line of --jsonl is
    reported on stderr with its line number and skipped; the others are still processed (exit 1)."""
    import extractors

    if (file is None) == (jsonl is None):
        raise BadInput("Give either FILE or --jsonl DOCS.jsonl.")
    if file is not None:
        pub = _parse_date(published)
        text = _read_text(file)
        for ev in extractors.extract(text, pub):
            sys.stdout.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        return
    assert jsonl is not None  # FILE or --jsonl, checked above
    bad = 0
    for n, doc, problem in _read_jsonl_rows(jsonl):
        if problem is None:
            try:
                pub = _parse_date(doc.get("published"), f"{jsonl}, line {n}: \"published\"")
                text = doc.get("text")
                if not isinstance(text, str):
                    raise BadInput(f"{jsonl}, line {n}: \"text\" must be a string.")
                events = [e.to_dict() for e in extractors.extract(text, pub)]
            except DefwatchError as exc:
                problem = str(exc)
        if problem is not None:
            bad += 1
            say_error(f"{problem} Skipped; the other lines go on.")
            continue
        sys.stdout.write(json.dumps({"id": doc.get("id", n), "events": events}, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if bad:
        raise typer.Exit(1)


@errors_are_messages
def eval_cmd(
    gold: Annotated[Optional[Path], typer.Argument(
        help="Gold file (JSONL, the format of docs/EVENTS.md in the repository). Default: the blind corpus eval/corpus.jsonl, "
             "then the bundled samples (samples/expected-events.jsonl).")] = None,
    split: Annotated[Optional[str], typer.Option(help="Only this half of a split corpus: tune or validation.")] = None,
    details: Annotated[bool, typer.Option(
        help="List false positives, misses and attribute mismatches. Only for tune: validation is scored, never read.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    rules_only: Annotated[bool, typer.Option(
        "--rules-only", help="Score what the rules propose, without the trained candidate filter.")] = False,
    write_baseline: Annotated[bool, typer.Option(
        "--write-baseline", help="Pin today's figures as CI's floors (eval/baseline.json); say why in the commit.")] = False,
    db: DbOption = Path("defwatch.duckdb"),
    judged: Annotated[bool, typer.Option(
        "--judged", help="Score against every judged article in --db (`defwatch judgements export --gold`).")] = False,
) -> None:
    """Score the extractor against annotated text: precision, recall and F1 per type and overall,
    status/date/location accuracy of matched events, per half of the blind corpus (tune and
    validation), the goals on validation, and how often confident events were right."""
    from extractors import RULESET_VERSION
    from extractors import eval as ev
    from extractors.scoring import load_gold

    if split is not None and split not in ev.SPLITS:
        raise BadInput(f"--split {split!r}: use tune or validation.")
    corpus = PROJECT_ROOT / "eval" / "corpus.jsonl"
    if judged:
        gold = _judged_gold(db, gold)
    path = gold or corpus
    if not path.is_file():
        hint = " (it comes with a clone of the repository)" if gold is None else ""
        what = "is a folder, not a file" if path.is_dir() else f"no such file{hint}"
        raise BadInput(f"{path}: {what}. Give a gold file: defwatch eval FILE.jsonl")
    try:
        docs = load_gold(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{exc}. A gold file has one JSON object a line with \"id\", \"text\" and \"events\".") from None
    has_validation = any(d.get("split") == "validation" for d in docs)
    if details and has_validation and split != "tune":
        raise BadInput("--details lists errors, and validation's are never read: add --split tune.")
    if write_baseline and (gold is not None and gold.resolve() != corpus.resolve() or split or rules_only):
        raise BadInput("--write-baseline pins the whole bundled corpus: run it without FILE, --split and --rules-only.")
    try:
        results = ev.evaluate_docs(docs, split, rules_only)
    except ValueError as exc:
        raise BadInput(f"{path}: {exc}") from None
    digest = ev.corpus_hash(path)
    extra: dict = {}
    if gold is None and split is None:
        for name, other in (("samples", PROJECT_ROOT / "samples" / "expected-events.jsonl"),
                            ("dev-gold", PROJECT_ROOT.parent / "shared" / "dev-gold.jsonl")):
            if other.is_file():
                extra[name] = ev.evaluate(other, rules_only)["all"]
    if write_baseline:
        out = ev.write_baseline(path, results)
        console.print(f"wrote {out.relative_to(PROJECT_ROOT)}", highlight=False)
    if json_out:
        payload: dict[str, Any] = {"ruleset": RULESET_VERSION, "file": str(path), "corpus_sha256": digest,
                   "halves": {k: {**r.report.to_dict(), "reliability": ev.reliability(r.report)} for k, r in results.items()},
                   "other_files": {k: r.report.to_dict() for k, r in extra.items()}}
        if has_validation:  # the JSON lists no errors either: validation's are never read
            for v in [*payload["halves"].values(), *payload["other_files"].values()]:
                v.pop("details", None)
        console.print_json(json.dumps(payload))
        return
    console.print(f"{path.name} (sha256 {digest[:12]}), ruleset {RULESET_VERSION}", highlight=False)
    console.print("rules only: the candidate filter is off" if rules_only else "rules, then the candidate filter",
                  highlight=False)
    console.print(ev.format_summary({**results, **extra}), highlight=False)
    headline = results.get("validation")
    if headline is not None:
        console.print("\ngoals on validation (the headline; tune is what the rules were written against):", highlight=False)
        console.print(ev.format_goals(headline.report), highlight=False)
        console.print("\nreliability on validation (of events with this confidence, the share right):", highlight=False)
        console.print(ev.format_reliability(ev.reliability(headline.report)), highlight=False)
    if details:
        buf = io.StringIO()
        for r in results.values():
            ev.print_details(r.report, out=buf)
        console.print(buf.getvalue(), highlight=False, markup=False)


def _parse_date(value, what: str = "--published"):
    """None, or a publication date to the day, the month or the year."""
    from extractors.pubdate import PubDate

    try:
        return PubDate.parse(value)
    except ValueError:
        raise BadInput(f"{what} {value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY.") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file.") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start}).") from None


def _read_jsonl_rows(path: Path):
    """(line number, object, None) for each good line; (line number, None, problem) for a bad one."""
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, None, f"{path}, line {n}: not JSON ({exc.msg})."
            continue
        if not isinstance(doc, dict):
            yield n, None, f"{path}, line {n}: a document is a JSON object with \"text\"."
            continue
        yield n, doc, None


def _judged_gold(db: Path, gold: Optional[Path]) -> Path:
    """The database's judged articles as a gold file in a temporary folder (for --judged)."""
    import tempfile

    from warehouse import judgements as wj

    if gold is not None:
        raise DefwatchError("--judged scores the judged articles of --db: give no FILE with it.")
    out = Path(tempfile.mkdtemp(prefix="defwatch-judged-")) / "judged.jsonl"
    if wj.write_gold(db, out) == 0:
        raise DefwatchError(f"{db} has no judged article yet: judge its events with `defwatch review` and "
                            f"`defwatch judge` first.")
    return out

"""Check a corpus part file's format (not its annotations' truth): python3 validate_part.py FILE..."""
import json
import re
import sys

GENRES = {"wire", "press_release", "analysis", "op_ed", "live_blog", "roundup", "interview", "feature", "brief", "non_defence"}
REGIONS = {"europe", "indo_pacific", "south_asia", "africa", "gulf_mena", "central_asia_caucasus", "latin_america", "north_america", "global"}
STATUS = {"partnership": {"planned", "negotiating", "signed", "extended", "suspended", "cancelled", None},
          "summit": {"planned", "held", "cancelled", None}}
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def check_event(e, text, where):
    errs = []
    need = {"type", "parties", "status", "date", "date_text", "location", "evidence"}
    if set(e) - need - {"confidence", "rule"} or need - set(e):
        errs.append(f"{where}: fields must be exactly {sorted(need)}; got {sorted(e)}")
        return errs
    if e["type"] not in STATUS:
        errs.append(f"{where}: type {e['type']!r}")
    elif e["status"] not in STATUS[e["type"]]:
        errs.append(f"{where}: status {e['status']!r} not allowed for {e['type']}")
    ps = e["parties"]
    if not isinstance(ps, list) or not ps or any(not isinstance(x, str) or not x.strip() for x in ps):
        errs.append(f"{where}: parties must be a non-empty list of names")
    elif ps != sorted(set(ps)):
        errs.append(f"{where}: parties must be sorted and unique: {ps}")
    elif e["type"] == "partnership" and len(ps) < 2:
        errs.append(f"{where}: a partnership needs two or more parties")
    if e["date"] is not None and not (isinstance(e["date"], str) and DATE.match(e["date"])):
        errs.append(f"{where}: date {e['date']!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    for f in ("date_text", "location", "evidence"):
        v = e[f]
        if v is None:
            if f == "evidence":
                errs.append(f"{where}: evidence is required")
            continue
        if not isinstance(v, str) or v not in text:
            errs.append(f"{where}: {f} {v!r} is not copied exactly from the text")
    if e["date"] is None and e["date_text"] is not None and False:
        pass
    return errs


def check(path):
    errs, ids, n = [], set(), 0
    for ln, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        n += 1
        w = f"{path}:{ln}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            errs.append(f"{w}: not JSON: {exc}")
            continue
        for f in ("id", "published", "source_url", "genre", "region", "formats", "phenomena", "text", "events", "note"):
            if f not in d:
                errs.append(f"{w}: missing {f}")
        if errs and errs[-1].startswith(w + ": missing"):
            continue
        if d["id"] in ids:
            errs.append(f"{w}: duplicate id {d['id']}")
        ids.add(d["id"])
        if d["published"] is not None and not (isinstance(d["published"], str) and DATE.match(d["published"]) and len(d["published"]) >= 7):
            errs.append(f"{w}: published must be YYYY-MM-DD, YYYY-MM or null")
        if not str(d["source_url"]).startswith(("http://", "https://")):
            errs.append(f"{w}: source_url must be the real page's URL")
        if d["genre"] not in GENRES:
            errs.append(f"{w}: genre {d['genre']!r} not in {sorted(GENRES)}")
        if d["region"] not in REGIONS:
            errs.append(f"{w}: region {d['region']!r} not in {sorted(REGIONS)}")
        words = len(d["text"].split())
        if not 80 <= words <= 400:
            errs.append(f"{w}: text has {words} words (80-400)")
        for i, e in enumerate(d["events"]):
            errs += check_event(e, d["text"], f"{w} event {i}")
        for i, e in enumerate(d.get("ignore", [])):
            errs += check_event(e, d["text"], f"{w} ignore {i}")
    return n, errs


if __name__ == "__main__":
    bad = 0
    for p in sys.argv[1:]:
        n, errs = check(p)
        for e in errs:
            print(e)
        bad += len(errs)
        print(f"{p}: {n} passages, {len(errs)} problems")
    sys.exit(1 if bad else 0)

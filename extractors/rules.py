"""Load, validate and compile the rule data in ``extractors/data``.

The data is loaded once (``get_rules()`` caches the default rule set). ``load_rules(path)``
loads another directory, which is how tests exercise validation errors.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeAlias

import ahocorasick

from .errors import RuleDataError

__all__ = ["RuleSet", "Patterns", "load_rules", "get_rules", "DATA_DIR", "DATA_FILES", "SOURCE_DIR", "compute_version",
           "version_of", "source_files", "gazetteer_version", "ENGINE_TRIGGER_IDS", "SYNTHETIC_RULE_IDS"]

SOURCE_DIR = Path(__file__).resolve().parent
DATA_DIR = SOURCE_DIR / "data"
DATA_FILES = ("actors.toml", "countries.tsv", "dates.toml", "patterns.toml", "triggers.toml", "filter.json")
#: what the rules propose depends on all but the trained filter: the filter records this version so
#: that a rule change without retraining is caught (tests/extractors/test_extr_eval_floor.py)
CANDIDATE_DATA_FILES = DATA_FILES[:-1]
CANDIDATE_SOURCE_EXCLUDED = frozenset({"filter.py"})
#: modules of the package that do not take part in extraction (their edits keep the version)
SOURCE_EXCLUDED = frozenset({"eval.py", "scoring.py"})

#: trigger ids the engine's code refers to by name (checked at load: E111 when one is missing)
ENGINE_TRIGGER_IDS = ("S-MEETING", "S-MET", "S-SUMMIT", "S-VISIT")
#: rule ids the engine makes itself (not trigger groups of the data)
SYNTHETIC_RULE_IDS = ("P-PRONOUN",)

#: what kind of word a cue is (``Cue.cat``): a partnership or summit trigger word (payload: the trigger
#: id), a status word (payload: the status id), or a word of the triggers.toml context, filters or
#: coref list the category is named after
CueCategory: TypeAlias = Literal["partnership", "summit", "status",
                                 "defence", "not_defence", "leaders", "mountain", "conference", "phone", "officials",
                                 "accession", "purchase", "sector_negative", "denial", "hypothetical",
                                 "firm_descriptor", "firm_suffix"]
TriggerType: TypeAlias = Literal["partnership", "summit"]
#: the triggers.toml.context lists whose words are cues (each its own category)
CONTEXT_CUE_CATEGORIES: tuple[CueCategory, ...] = ("defence", "not_defence", "leaders", "mountain", "conference", "phone",
                                                   "officials", "accession")
#: the triggers.toml.filters lists whose words are cues (each its own category)
FILTER_CUE_CATEGORIES: tuple[CueCategory, ...] = ("purchase", "sector_negative", "denial", "hypothetical")

PARTNERSHIP_STATUSES = {"planned", "negotiating", "signed", "extended", "suspended", "cancelled"}
SUMMIT_STATUSES = {"planned", "held", "cancelled"}


# --------------------------------------------------------------------------- schema helpers


def safe_lower(text: str) -> str:
    """Lower-cased text of the same length, so offsets in one are offsets in the other (a
    character whose lower case is longer, such as 'İ', is kept as it is)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _type_name(value_type: Any) -> str:
    return {str: "string", list: "list", dict: "table", int: "integer", float: "number", bool: "boolean"}.get(value_type, str(value_type))


def _check_table(table: Any, schema: dict[str, tuple[Any, bool]], where: str) -> dict:
    """schema: key -> (type, required). Rejects unknown keys, missing keys and wrong types."""
    if not isinstance(table, dict):
        raise RuleDataError("E104", f"expected a table, got {type(table).__name__}", where)
    for key in table:
        if key not in schema:
            raise RuleDataError("E102", f"unknown key {key!r} (known: {', '.join(sorted(schema))})", f"{where}.{key}")
    for key, (typ, required) in schema.items():
        if key not in table:
            if required:
                raise RuleDataError("E103", f"missing required key {key!r}", where)
            continue
        val = table[key]
        if typ is float:
            ok = isinstance(val, (int, float)) and not isinstance(val, bool)
        elif typ is int:
            ok = isinstance(val, int) and not isinstance(val, bool)
        else:
            ok = isinstance(val, typ)
        if not ok:
            raise RuleDataError("E104", f"{key!r} must be a {_type_name(typ)}, got {type(val).__name__}", f"{where}.{key}")
    return table


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _scan_automaton(cue_ac: Any, actor_ac: Any) -> Any:
    """One automaton for both passes over a document, keyed by lower-cased text: each key's value
    is (its cue value or None, the actor values whose surface lower-cases to it). An actor surface
    matches where the lower-cased text holds its lower-cased form and the text itself holds the
    surface (tested in find_cues), so one scan finds what the two automata find."""

    keys: dict[str, list] = {term: [value, []] for term, value in cue_ac.items()}
    for surface, value in actor_ac.items():
        keys.setdefault(safe_lower(surface), [None, []])[1].append(value)
    scan_ac = ahocorasick.Automaton()
    for key, (cue_value, actor_values) in keys.items():
        scan_ac.add_word(key, (cue_value, tuple(actor_values)))
    scan_ac.make_automaton()
    return scan_ac


def _check_strings(values: Any, where: str, *, allow_empty_list: bool = False) -> list[str]:
    if not isinstance(values, list):
        raise RuleDataError("E104", "expected a list of strings", where)
    if not values and not allow_empty_list:
        raise RuleDataError("E105", "empty pattern group", where)
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise RuleDataError("E104", f"item {i} must be a string, got {type(v).__name__}", where)
        if not v.strip():
            raise RuleDataError("E107", f"item {i} is an empty string", where)
        out.append(v.strip())
    return out


def _optional_module(name: str) -> ModuleType | None:
    """The module, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover
        return None


def _read_toml(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleDataError("E100", f"cannot read {path.name}: {exc}", path.name) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuleDataError("E101", f"cannot parse {path.name}: {exc}", path.name) from None


def source_files(source_dir: Path = SOURCE_DIR) -> list[Path]:
    """The extractor's own Python modules whose code decides the output (sorted by name)."""
    return sorted(p for p in source_dir.glob("*.py") if p.name not in SOURCE_EXCLUDED)


def gazetteer_version() -> str:
    """The installed pycountry's version (the gazetteer's base), or "absent"."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "unknown"
    try:
        return version("pycountry")
    except PackageNotFoundError:
        return "absent"


def version_of(data: Iterable[tuple[str, bytes | None]], sources: Iterable[tuple[str, bytes | None]], gazetteer: str) -> str:
    """The rule-set version from given bytes: data files, source files (name, bytes or None when
    missing) and the gazetteer's version. Any change to one of them changes the version."""
    h = hashlib.sha256()
    for name, raw in data:
        h.update(name.encode())
        h.update(b"\0")
        h.update(b"<missing>" if raw is None else raw)
        h.update(b"\0")
    h.update(b"\0source\0")
    for name, raw in sources:
        h.update(name.encode())
        h.update(b"\0")
        h.update(b"<missing>" if raw is None else raw)
        h.update(b"\0")
    h.update(b"\0pycountry\0" + gazetteer.encode())
    return "rules-" + h.hexdigest()[:12]


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def compute_version(data_dir: Path = DATA_DIR, source_dir: Path = SOURCE_DIR, candidates_only: bool = False) -> str:
    """Version over the data files of ``data_dir``, the extractor's source in ``source_dir`` and the
    installed pycountry version. ``candidates_only``: what the rules propose, leaving out the
    trained filter (its weights and its code)."""
    data_dir, source_dir = Path(data_dir), Path(source_dir)
    files = CANDIDATE_DATA_FILES if candidates_only else DATA_FILES
    sources = [p for p in source_files(source_dir) if not (candidates_only and p.name in CANDIDATE_SOURCE_EXCLUDED)]
    return version_of(((n, _read_or_none(data_dir / n)) for n in files),
                      ((p.name, _read_or_none(p)) for p in sources),
                      gazetteer_version())


# --------------------------------------------------------------------------- compiled rule set

@dataclass(frozen=True, slots=True)
class Entry:
    """One meaning of a surface form."""

    kind: str  # country | demonym | metonym | place | bloc | firm | person | blocker | coref
    name: str  # canonical actor (or place) name; "" for blockers
    extra: str = ""  # person role, coref phrase, bloc id


@dataclass
class TriggerDef:
    id: str
    type: str  # partnership | summit
    confidence: float
    needs_leaders: bool = False
    verb: bool = False
    firms: bool = False
    needs_defence_np: bool = False  # a defence word must qualify the noun ("defence deal")
    needs_defence_sentence: bool = False  # a defence word must be in the trigger's own sentence


@dataclass
class StatusDef:
    id: str
    type: str
    status: str
    rank: int


@dataclass(frozen=True, slots=True)
class Patterns:
    """The compiled English patterns and word sets of ``patterns.toml`` (one field per id; what
    each is for is said in the data file). Regex fields are ``re.Pattern``, word sets frozensets."""

    # clause segments and fronted phrases
    clause_break: re.Pattern
    which_break: re.Pattern
    fronted: re.Pattern
    reported: re.Pattern
    neg_clause: re.Pattern
    anaphoric: re.Pattern
    it_start: re.Pattern
    # mention roles
    loc_before: re.Pattern
    to_before: re.Pattern
    ignore_before: re.Pattern
    created_before: re.Pattern
    left_before: re.Pattern
    one_member_before: re.Pattern
    member_after: re.Pattern
    capital_after: re.Pattern
    compound_after: re.Pattern
    absent_after: re.Pattern
    qualifier_before: re.Pattern
    qualifier_after: re.Pattern
    pair_compound_after: re.Pattern
    name_after: re.Pattern
    city_of: re.Pattern
    the_end: re.Pattern
    possessive_end: re.Pattern
    firm_modifier_gap: re.Pattern
    the_alliance_num: re.Pattern
    # triggers
    meeting_of: re.Pattern
    about_after: re.Pattern
    dated_name_gap: re.Pattern
    range_after: re.Pattern
    range_from_before: re.Pattern
    year_join: re.Pattern
    dated_name_after: re.Pattern
    named_summit: re.Pattern
    bloc_leaders_after: re.Pattern
    leaders_word: re.Pattern
    # parties
    summit_of: re.Pattern
    bloc_join: re.Pattern
    bloc_coref_word: re.Pattern
    bloc_summit_gap: re.Pattern
    their_summit: re.Pattern
    tail_gap: re.Pattern
    hosting: re.Pattern
    for_hosting: re.Pattern
    modifier_gap: re.Pattern
    with_word: re.Pattern
    the_gap: re.Pattern
    with_first_gap: re.Pattern
    with_next_gap: re.Pattern
    each: re.Pattern
    multi: re.Pattern
    pair_phrase: re.Pattern
    # attributes
    sidelines: re.Pattern
    at_summit: re.Pattern
    announcement: re.Pattern
    future: re.Pattern
    # dynamic firm names
    firm_by_descriptor: re.Pattern
    firm_by_suffix: re.Pattern
    firm_by_owner_group: re.Pattern
    firm_by_appositive: re.Pattern
    owner_desc_after: re.Pattern
    owner_desc_before: re.Pattern
    legal_form: re.Pattern
    # word sets
    determiners: frozenset
    definite: frozenset
    meet_next: frozenset
    np_stop: frozenset
    indefinite_stop: frozenset
    indefinite: frozenset
    meet_title_det: frozenset
    meet_title: frozenset
    firm_bad_start: frozenset


PATTERN_IDS = tuple(f.name for f in fields(Patterns) if f.type in ("re.Pattern", re.Pattern))
WORD_IDS = tuple(f.name for f in fields(Patterns) if f.type in ("frozenset", frozenset))
_FLAGS = {"IGNORECASE": re.IGNORECASE}


@dataclass
class RuleSet:
    version: str
    actor_ac: Any
    cue_ac: Any
    patterns: Patterns
    #: cue terms and lower-cased actor surfaces in one automaton: the one pass over a document's
    #: lower-cased text that finds both (extractors.mentions.find_cues)
    scan_ac: Any = None
    actor_kind: dict[str, str] = field(default_factory=dict)  # canonical -> country|bloc|firm
    capital_of: dict[str, str] = field(default_factory=dict)  # country canonical -> capital
    bloc_members: dict[str, list[str]] = field(default_factory=dict)
    bloc_coref: dict[str, list[str]] = field(default_factory=dict)  # coref phrase -> blocs
    alias_to_canonical: dict[str, str] = field(default_factory=dict)  # casefolded surface -> canonical
    place_names: dict[str, str] = field(default_factory=dict)  # surface -> canonical place
    triggers: dict[str, TriggerDef] = field(default_factory=dict)
    statuses: dict[str, StatusDef] = field(default_factory=dict)
    months: dict[str, int] = field(default_factory=dict)
    weekdays: dict[str, int] = field(default_factory=dict)
    seasons: dict[str, int] = field(default_factory=dict)
    excluded_prefixes: list[str] = field(default_factory=list)
    future_cues: list[str] = field(default_factory=list)
    negation: frozenset = frozenset()
    report_verbs: list[str] = field(default_factory=list)
    pair_nouns: list[str] = field(default_factory=list)
    firm_nouns: list[str] = field(default_factory=list)
    firm_descriptors: list[str] = field(default_factory=list)
    firm_suffixes: list[str] = field(default_factory=list)
    legal_forms: list[str] = field(default_factory=list)
    np_negative: frozenset = frozenset()
    venue_city: dict[str, str] = field(default_factory=dict)  # "White House" -> "Washington"
    candidates_version: str = ""  # the version without the trained filter (see compute_version)
    filter_model: Any = None  # extractors.filter.FilterModel, or None without data/filter.json

    def canonical(self, name: str) -> str:
        """Alias normalisation used by scoring: 'UK' -> 'United Kingdom'."""
        key = _fold(name)
        return self.alias_to_canonical.get(key, name.strip())


def _fold(name: str) -> str:
    import unicodedata

    name = unicodedata.normalize("NFKD", name)
    name = "".join(c for c in name if not unicodedata.combining(c))
    name = name.replace("’", "'").casefold().strip()
    if name.startswith("the "):
        name = name[4:]
    return re.sub(r"\s+", " ", name)


def _variants(surface: str) -> set[str]:
    out = {surface}
    if surface[:1].islower():
        out.add(surface[:1].upper() + surface[1:])
    if "’" in surface:
        out.add(surface.replace("’", "'"))
    if "'" in surface:
        out.add(surface.replace("'", "’"))
    return out


# --------------------------------------------------------------------------- loaders

def _load_countries(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleDataError("E100", f"cannot read {path.name}: {exc}", path.name) from None
    except UnicodeDecodeError as exc:
        raise RuleDataError("E101", f"{path.name} is not UTF-8: {exc}", path.name) from None
    rows = []
    seen = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        where = f"{path.name}:{lineno}"
        if len(cols) != 5:
            raise RuleDataError("E101", f"expected 5 tab-separated columns, got {len(cols)}", where)
        code, name, aliases, demonyms, capitals = (c.strip() for c in cols)
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise RuleDataError("E107", f"bad country code {code!r}", where)
        if not name:
            raise RuleDataError("E103", "missing canonical name", where)
        if code in seen:
            raise RuleDataError("E106", f"duplicate country code {code}", where)
        seen.add(code)
        split = lambda s: [x.strip() for x in s.split(";") if x.strip()]  # noqa: E731
        rows.append({"code": code, "name": name, "aliases": split(aliases), "demonyms": split(demonyms), "capitals": split(capitals)})
    if not rows:
        raise RuleDataError("E105", "no countries defined", path.name)
    return rows


def _alternation(terms: list[str]) -> str:
    """Terms regex-escaped, longest first (stable), joined by "|"."""
    return "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))


_PLACEHOLDER = re.compile(r"<<(\w+)>>")


def _load_patterns(path: Path, lists: dict[str, list[str]]) -> Patterns:
    """Validate and compile patterns.toml. ``lists`` are the rule lists a pattern may name as <<name>>."""
    name = path.name
    doc = _read_toml(path)
    _check_table(doc, {"meta": (dict, True), "pattern": (list, True), "words": (list, True)}, name)
    _check_table(doc["meta"], {"schema": (int, True), "description": (str, False)}, f"{name}.meta")
    if doc["meta"]["schema"] != 1:
        raise RuleDataError("E107", f"unsupported schema version {doc['meta']['schema']}", f"{name}.meta.schema")
    seen: set[str] = set()
    values: dict[str, Any] = {}

    def check_id(ident: str, known: tuple[str, ...], where: str) -> None:
        if not ident.strip():
            raise RuleDataError("E107", "empty id", where)
        if ident in seen:
            raise RuleDataError("E106", f"duplicate id {ident!r}", where)
        if ident not in known:
            raise RuleDataError("E102", f"unknown id {ident!r}: the engine does not use it", where)
        seen.add(ident)

    for n, p in enumerate(doc["pattern"]):
        where = f"{name}.pattern[{n}]"
        _check_table(p, {"id": (str, True), "comment": (str, True), "pattern": (list, True), "flags": (list, False)}, where)
        check_id(p["id"], PATTERN_IDS, where)
        where = f"{name}.pattern.{p['id']}"
        if not p["comment"].strip():
            raise RuleDataError("E107", "empty comment", where + ".comment")
        pieces = p["pattern"]
        if not pieces:
            raise RuleDataError("E105", "empty pattern", where + ".pattern")
        for k, piece in enumerate(pieces):
            if not isinstance(piece, str) or not piece:
                raise RuleDataError("E104", f"piece {k} must be a non-empty string", where + ".pattern")
        source = "".join(pieces)  # pieces are concatenated as they are (not stripped)

        def fill(match: re.Match, where: str = where) -> str:
            lst = lists.get(match.group(1))
            if lst is None:
                raise RuleDataError("E111", f"<<{match.group(1)}>> names no rule list (known: {', '.join(sorted(lists))})",
                                    where + ".pattern")
            return _alternation(lst)

        source = _PLACEHOLDER.sub(fill, source)
        flags = 0
        for f in _check_strings(p.get("flags", []), where + ".flags", allow_empty_list=True):
            if f not in _FLAGS:
                raise RuleDataError("E110", f"unknown flag {f!r} (known: {', '.join(sorted(_FLAGS))})", where + ".flags")
            flags |= _FLAGS[f]
        try:
            values[p["id"]] = re.compile(source, flags)
        except re.error as exc:
            raise RuleDataError("E110", f"{exc}", where + ".pattern") from None

    for n, w in enumerate(doc["words"]):
        where = f"{name}.words[{n}]"
        _check_table(w, {"id": (str, True), "comment": (str, True), "words": (list, True)}, where)
        check_id(w["id"], WORD_IDS, where)
        where = f"{name}.words.{w['id']}"
        if not w["comment"].strip():
            raise RuleDataError("E107", "empty comment", where + ".comment")
        values[w["id"]] = frozenset(_check_strings(w["words"], where + ".words"))

    missing = [i for i in PATTERN_IDS + WORD_IDS if i not in values]
    if missing:
        raise RuleDataError("E111", f"the engine refers to ids the data does not define: {', '.join(missing)}", name)
    return Patterns(**values)


def load_rules(data_dir: Path | str = DATA_DIR) -> RuleSet:
    data_dir = Path(data_dir)
    actors = _read_toml(data_dir / "actors.toml")
    triggers = _read_toml(data_dir / "triggers.toml")
    dates = _read_toml(data_dir / "dates.toml")
    countries = _load_countries(data_dir / "countries.tsv")

    meta_schema = {"schema": (int, True), "description": (str, False)}

    # ---------------------------------------------------------------- actors.toml
    _check_table(actors, {"meta": (dict, True), "bloc": (list, True), "firm": (list, True), "person": (list, True),
                          "places": (dict, True), "blockers": (dict, True)}, "actors.toml")
    _check_table(actors["meta"], meta_schema, "actors.toml.meta")
    if actors["meta"]["schema"] != 1:
        raise RuleDataError("E107", f"unsupported schema version {actors['meta']['schema']}", "actors.toml.meta.schema")

    surfaces: dict[str, list[Entry]] = {}
    alias_map: dict[str, str] = {}
    actor_kind: dict[str, str] = {}
    capital_of: dict[str, str] = {}
    place_names: dict[str, str] = {}
    country_names: set[str] = set()

    def add(surface: str, entry: Entry, where: str) -> None:
        for v in _variants(surface):
            lst = surfaces.setdefault(v, [])
            if entry in lst:
                continue
            # one surface may carry a place and an actor meaning, but not two different actors of one kind
            for other in lst:
                if other.kind == entry.kind and other.name != entry.name and entry.kind not in ("place", "coref"):
                    raise RuleDataError("E108", f"{surface!r} maps to both {other.name!r} and {entry.name!r}", where)
            lst.append(entry)

    def add_alias(surface: str, canonical: str) -> None:
        alias_map.setdefault(_fold(surface), canonical)

    # countries (pycountry is the base for official names and non-sovereign territories)
    pycountry = _optional_module("pycountry")
    by_code: dict[str, dict] = {}
    for row in countries:
        name = row["name"]
        where = f"countries.tsv:{row['code']}"
        by_code[row["code"]] = row
        country_names.add(name)
        actor_kind[name] = "country"
        add(name, Entry("country", name), where)
        add_alias(name, name)
        for a in row["aliases"]:
            add(a, Entry("country", name), where)
            add_alias(a, name)
        for d in row["demonyms"]:
            add(d, Entry("demonym", name), where)
        first_cap = None
        for c in row["capitals"]:
            place_only = c.startswith("~")
            c = c.lstrip("~").strip()
            if not c:
                raise RuleDataError("E107", "empty capital", where)
            if first_cap is None:
                first_cap = c
            place_names.setdefault(c, c)
            if place_only:
                add(c, Entry("place", c), where)
            else:
                add(c, Entry("metonym", name, c), where)
                add(c, Entry("place", c), where)
        if first_cap:
            capital_of[name] = first_cap
    if pycountry is not None:
        for pc in pycountry.countries:
            known = by_code.get(pc.alpha_2)
            if known is not None:
                off = getattr(pc, "official_name", None)
                if off:
                    off = re.sub(r"^the ", "", off)
                    if off not in surfaces:
                        add(off, Entry("country", known["name"]), f"pycountry:{pc.alpha_2}")
                        add_alias(off, known["name"])
                add_alias(pc.name, known["name"])
            else:
                # territories: places (and never parties)
                nm = getattr(pc, "common_name", None) or pc.name
                if "," in nm or nm in surfaces:
                    continue
                add(nm, Entry("place", nm), f"pycountry:{pc.alpha_2}")
                place_names.setdefault(nm, nm)

    bloc_members: dict[str, list[str]] = {}
    bloc_coref: dict[str, list[str]] = {}
    ids: set[str] = set()

    def check_id(ident: str, where: str) -> None:
        if not ident.strip():
            raise RuleDataError("E107", "empty id", where)
        if ident in ids:
            raise RuleDataError("E106", f"duplicate id {ident!r}", where)
        ids.add(ident)

    for n, b in enumerate(actors["bloc"]):
        where = f"actors.toml.bloc[{n}]"
        _check_table(b, {"id": (str, True), "name": (str, True), "aliases": (list, True), "metonyms": (list, False),
                         "coref": (list, False), "members": (list, False)}, where)
        check_id(b["id"], where)
        name = b["name"].strip()
        if not name:
            raise RuleDataError("E107", "empty name", where)
        actor_kind[name] = "bloc"
        add(name, Entry("bloc", name), where)
        add_alias(name, name)
        for a in _check_strings(b["aliases"], where + ".aliases", allow_empty_list=True):
            add(a, Entry("bloc", name), where)
            add_alias(a, name)
        for m in _check_strings(b.get("metonyms", []), where + ".metonyms", allow_empty_list=True):
            # a bloc metonym replaces any country meaning of the same surface (Brussels)
            for v in _variants(m):
                surfaces[v] = [e for e in surfaces.get(v, []) if e.kind != "metonym"]
            add(m, Entry("metonym", name, m), where)
            add(m, Entry("place", m), where)
            place_names.setdefault(m, m)
        for c in _check_strings(b.get("coref", []), where + ".coref", allow_empty_list=True):
            bloc_coref.setdefault(c.lower(), []).append(name)
            add(c, Entry("coref", name, c.lower()), where)
        if "members" in b:
            members = _check_strings(b["members"], where + ".members")
            for m in members:
                if m not in country_names:
                    raise RuleDataError("E109", f"member {m!r} is not a known country", where + ".members")
            bloc_members[name] = members

    for n, f in enumerate(actors["firm"]):
        where = f"actors.toml.firm[{n}]"
        _check_table(f, {"id": (str, True), "name": (str, True), "aliases": (list, True)}, where)
        check_id(f["id"], where)
        name = f["name"].strip()
        if not name:
            raise RuleDataError("E107", "empty name", where)
        actor_kind[name] = "firm"
        add(name, Entry("firm", name), where)
        add_alias(name, name)
        for a in _check_strings(f["aliases"], where + ".aliases", allow_empty_list=True):
            add(a, Entry("firm", name), where)
            add_alias(a, name)

    for n, p in enumerate(actors["person"]):
        where = f"actors.toml.person[{n}]"
        _check_table(p, {"id": (str, True), "country": (str, True), "role": (str, True), "names": (list, True)}, where)
        check_id(p["id"], where)
        if p["role"] not in ("head", "official"):
            raise RuleDataError("E107", f"role must be 'head' or 'official', got {p['role']!r}", where + ".role")
        if p["country"] not in actor_kind:
            raise RuleDataError("E109", f"unknown country or bloc {p['country']!r}", where + ".country")
        for nm in _check_strings(p["names"], where + ".names"):
            add(nm, Entry("person", p["country"], p["role"]), where)

    places = _check_table(actors["places"], {"cities": (list, True), "venues": (dict, True)}, "actors.toml.places")
    for c in _check_strings(places["cities"], "actors.toml.places.cities"):
        add(c, Entry("place", c), "actors.toml.places")
        place_names.setdefault(c, c)
    # buildings and residences stand for their city as an event's location ("at the White House")
    venue_city: dict[str, str] = {}
    for venue, city in places["venues"].items():
        if not isinstance(city, str) or not city.strip():
            raise RuleDataError("E104", f"venue {venue!r} needs a city name", "actors.toml.places.venues")
        venue_city[venue] = city

    blockers = _check_table(actors["blockers"], {"phrases": (list, True)}, "actors.toml.blockers")
    for bl in _check_strings(blockers["phrases"], "actors.toml.blockers.phrases"):
        add(bl, Entry("blocker", ""), "actors.toml.blockers")

    actor_ac = ahocorasick.Automaton()
    for surface, entries in surfaces.items():
        # with the surface's length and whether it starts and ends with a word character (as cue_ac)
        actor_ac.add_word(surface, (surface, tuple(entries), len(surface), _is_word_char(surface[0]),
                                    _is_word_char(surface[-1])))
    actor_ac.make_automaton()

    # ---------------------------------------------------------------- triggers.toml
    _check_table(triggers, {"meta": (dict, True), "partnership": (list, True), "summit": (list, True),
                            "context": (dict, True), "filters": (dict, True), "status": (list, True),
                            "coref": (dict, True)}, "triggers.toml")
    _check_table(triggers["meta"], meta_schema, "triggers.toml.meta")
    cues: dict[str, list[tuple[CueCategory, str]]] = {}

    def add_cue(term: str, category: CueCategory, payload: str, where: str) -> None:
        t = term.lower().replace("’", "'")
        for v in {t, t.replace("'", "’")}:
            lst = cues.setdefault(v, [])
            if (category, payload) not in lst:
                lst.append((category, payload))

    trig_defs: dict[str, TriggerDef] = {}
    kind: TriggerType
    for kind in ("partnership", "summit"):
        if not triggers[kind]:
            raise RuleDataError("E105", f"no {kind} trigger groups", f"triggers.toml.{kind}")
        for n, t in enumerate(triggers[kind]):
            where = f"triggers.toml.{kind}[{n}]"
            _check_table(t, {"id": (str, True), "terms": (list, True), "confidence": (float, True),
                             "needs_leaders": (bool, False), "verb": (bool, False), "firms": (bool, False),
                             "needs_defence_np": (bool, False), "needs_defence_sentence": (bool, False)}, where)
            check_id(t["id"], where)
            if not 0 < t["confidence"] <= 1:
                raise RuleDataError("E107", "confidence must be in (0, 1]", where + ".confidence")
            trig_defs[t["id"]] = TriggerDef(t["id"], kind, float(t["confidence"]), t.get("needs_leaders", False),
                                            t.get("verb", False), t.get("firms", False), t.get("needs_defence_np", False),
                                            t.get("needs_defence_sentence", False))
            for term in _check_strings(t["terms"], where + ".terms"):
                add_cue(term, kind, t["id"], where)

    ctx = _check_table(triggers["context"], {"defence": (list, True), "not_defence": (list, True), "leaders": (list, True),
                                              "mountain": (list, True), "conference": (list, True),
                                              "phone": (list, True), "officials": (list, True),
                                              "accession": (list, True)}, "triggers.toml.context")
    for key in CONTEXT_CUE_CATEGORIES:
        for term in _check_strings(ctx[key], f"triggers.toml.context.{key}"):
            add_cue(term, key, key, "triggers.toml.context")

    flt = _check_table(triggers["filters"], {"np_negative": (list, True), "purchase": (list, True), "sector_negative": (list, True),
                                              "denial": (list, True), "hypothetical": (list, True), "negation": (list, True),
                                              "report_verbs": (list, True)}, "triggers.toml.filters")
    for key in FILTER_CUE_CATEGORIES:
        for term in _check_strings(flt[key], f"triggers.toml.filters.{key}"):
            add_cue(term, key, key, "triggers.toml.filters")
    np_negative = frozenset(x.lower() for x in _check_strings(flt["np_negative"], "triggers.toml.filters.np_negative"))
    negation = frozenset(x.lower() for x in _check_strings(flt["negation"], "triggers.toml.filters.negation"))
    report_verbs = _check_strings(flt["report_verbs"], "triggers.toml.filters.report_verbs")

    status_defs: dict[str, StatusDef] = {}
    if not triggers["status"]:
        raise RuleDataError("E105", "no status groups", "triggers.toml.status")
    for n, s in enumerate(triggers["status"]):
        where = f"triggers.toml.status[{n}]"
        _check_table(s, {"id": (str, True), "type": (str, True), "status": (str, True), "rank": (int, True), "terms": (list, True)}, where)
        check_id(s["id"], where)
        if s["type"] not in ("partnership", "summit"):
            raise RuleDataError("E107", f"type must be partnership or summit, got {s['type']!r}", where + ".type")
        allowed = PARTNERSHIP_STATUSES if s["type"] == "partnership" else SUMMIT_STATUSES
        if s["status"] not in allowed:
            raise RuleDataError("E107", f"status {s['status']!r} not allowed for {s['type']} (allowed: {sorted(allowed)})", where + ".status")
        status_defs[s["id"]] = StatusDef(s["id"], s["type"], s["status"], s["rank"])
        for term in _check_strings(s["terms"], where + ".terms"):
            add_cue(term, "status", s["id"], where)

    co = _check_table(triggers["coref"], {"pair_nouns": (list, True), "firm_nouns": (list, True), "firm_descriptors": (list, True),
                                           "firm_suffixes": (list, True), "legal_forms": (list, True)}, "triggers.toml.coref")
    pair_nouns = _check_strings(co["pair_nouns"], "triggers.toml.coref.pair_nouns")
    firm_nouns = _check_strings(co["firm_nouns"], "triggers.toml.coref.firm_nouns")
    firm_descriptors = _check_strings(co["firm_descriptors"], "triggers.toml.coref.firm_descriptors")
    firm_suffixes = _check_strings(co["firm_suffixes"], "triggers.toml.coref.firm_suffixes")
    legal_forms = _check_strings(co["legal_forms"], "triggers.toml.coref.legal_forms")

    for d in firm_descriptors:
        add_cue(d, "firm_descriptor", "descriptor", "triggers.toml.coref.firm_descriptors")
    for sfx in firm_suffixes:
        add_cue(sfx, "firm_suffix", "suffix", "triggers.toml.coref.firm_suffixes")

    cue_ac = ahocorasick.Automaton()
    for term, payload in cues.items():
        # with whether the term's first and last characters are word characters: a match is cut
        # from a longer word only where a word character meets one (extractors.mentions.find_cues)
        cue_ac.add_word(term, (term, tuple(payload), len(term), _is_word_char(term[0]), _is_word_char(term[-1])))
    cue_ac.make_automaton()
    scan_ac = _scan_automaton(cue_ac, actor_ac)

    # ---------------------------------------------------------------- dates.toml
    _check_table(dates, {"meta": (dict, True), "months": (dict, True), "weekdays": (dict, True), "seasons": (dict, True),
                         "rules": (dict, True)}, "dates.toml")
    _check_table(dates["meta"], meta_schema, "dates.toml.meta")

    def int_table(table: dict, lo: int, hi: int, where: str) -> dict[str, int]:
        if not table:
            raise RuleDataError("E105", "empty table", where)
        out = {}
        for k, v in table.items():
            if not isinstance(v, int) or isinstance(v, bool):
                raise RuleDataError("E104", f"{k!r} must be an integer", f"{where}.{k}")
            if not lo <= v <= hi:
                raise RuleDataError("E107", f"{k!r} = {v} outside {lo}..{hi}", f"{where}.{k}")
            out[k.lower()] = v
        return out

    months = int_table(dates["months"], 1, 12, "dates.toml.months")
    weekdays = int_table(dates["weekdays"], 0, 6, "dates.toml.weekdays")
    seasons = int_table(dates["seasons"], 1, 12, "dates.toml.seasons")
    dr = _check_table(dates["rules"], {"excluded_prefixes": (list, True), "future_cues": (list, True)}, "dates.toml.rules")

    for tid in ENGINE_TRIGGER_IDS:
        if tid not in trig_defs:
            raise RuleDataError("E111", f"the engine refers to trigger id {tid!r}, which triggers.toml does not define",
                                "triggers.toml")

    excluded_prefixes = [x.lower() for x in _check_strings(dr["excluded_prefixes"], "dates.toml.rules.excluded_prefixes")]
    future_cues = [x.lower() for x in _check_strings(dr["future_cues"], "dates.toml.rules.future_cues")]
    patterns = _load_patterns(data_dir / "patterns.toml", {
        "firm_descriptors": [x.lower() for x in firm_descriptors],
        "firm_suffixes": firm_suffixes,
        "legal_forms": legal_forms,
        "report_verbs": [x.lower() for x in report_verbs],
        "pair_nouns": [x.lower() for x in pair_nouns],
        "future_cues": future_cues,
    })

    from .filter import load_model

    try:
        filter_model = load_model(data_dir / "filter.json")
    except (ValueError, KeyError, TypeError) as exc:
        raise RuleDataError("E101", f"the trained filter does not load: {exc}", "filter.json") from None
    return RuleSet(
        version=compute_version(data_dir),
        candidates_version=compute_version(data_dir, candidates_only=True),
        venue_city=venue_city,
        filter_model=filter_model,
        actor_ac=actor_ac,
        cue_ac=cue_ac,
        scan_ac=scan_ac,
        patterns=patterns,
        actor_kind=actor_kind,
        capital_of=capital_of,
        bloc_members=bloc_members,
        bloc_coref=bloc_coref,
        alias_to_canonical=alias_map,
        place_names=place_names,
        triggers=trig_defs,
        statuses=status_defs,
        months=months,
        weekdays=weekdays,
        seasons=seasons,
        excluded_prefixes=excluded_prefixes,
        future_cues=future_cues,
        negation=negation,
        report_verbs=[x.lower() for x in report_verbs],
        pair_nouns=[x.lower() for x in pair_nouns],
        firm_nouns=[x.lower() for x in firm_nouns],
        firm_descriptors=[x.lower() for x in firm_descriptors],
        firm_suffixes=firm_suffixes,
        legal_forms=legal_forms,
        np_negative=np_negative,
    )


@lru_cache(maxsize=1)
def get_rules() -> RuleSet:
    """The default rule set, loaded once per process."""
    return load_rules(DATA_DIR)

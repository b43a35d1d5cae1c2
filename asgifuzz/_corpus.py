"""The corpus: findings saved as versioned JSON files, loaded back and replayed.

Theory of operation
-------------------
One case per file, ``<invariant>-<sha256[:12]>.json``.  The hash covers only
what decides the replay (app, target, scope, body, actions, backend, profile,
schedule seed, differential flag, expected invariant), never the free text
(message, description, asgifuzz version), so the same case found twice --
by two pytest-xdist workers, or by a rerun that was seeded from the corpus --
lands in the same file.

Writing goes through one function, ``dump_document``: ``json.dumps(indent=2,
sort_keys=True, ensure_ascii=True) + "\\n"`` so diffs stay stable.  A write is
a temporary file in the same directory followed by ``os.replace`` (atomic on
POSIX and Windows), so a Ctrl-C or a concurrent writer leaves only complete
files behind: readers see the old file or the new one, never half of one.

Loading validates every field and raises ``CorpusError`` with one line:
``<file>: <json pointer>: <problem>``.  ``load_corpus`` loads a whole tree,
collecting one error per bad file and going on with the rest.  Nothing is
ever unpickled or evaluated; apps are imported by ``module:attr`` name.

Replay uses the driver and the oracles directly: no Hypothesis, and the same
script gives the same run.  A case "still fails" when the replay reports a
violation; it "passes" when the app now behaves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgifuzz._case import Case, case_from_json, case_to_json
from asgifuzz._errors import CorpusError, UsageError
from asgifuzz.checks.invariants import INVARIANTS

if TYPE_CHECKING:
    from asgifuzz._finding import Finding, TraceEvent

__all__ = (
    "FORMAT",
    "CorpusCase",
    "ReplayResult",
    "case_from_finding",
    "corpus_files",
    "dump_document",
    "load_case",
    "load_corpus",
    "replay_case",
    "save_case",
    "save_finding",
)

#: The schema version written by this asgifuzz.  Readers refuse newer ones.
FORMAT = 1

DEFAULT_CORPUS_DIR = "corpus"

_REQUIRED = (
    "format",
    "asgifuzz",
    "app",
    "target",
    "invariant",
    "expect",
    "scope",
    "body",
    "actions",
    "backend",
    "profile",
    "schedule_seed",
    "differential",
)
_OPTIONAL = (
    "description",
    "middleware",
    "factory",
    "virtual_time",
    "message",
    "where",
    "stack",
    # The server knobs and the session's other connections (case_to_json writes them only when set).
    "server",
    "session",
    # Where the app imports from (added after format 1 shipped; old files lack them):
    # ``project_root`` relative to the file's folder (absolute when the file
    # lies outside the project), ``app_dir`` relative to the project root.
    "project_root",
    "app_dir",
)
_KNOWN = frozenset(_REQUIRED + _OPTIONAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpusCase:
    """One corpus file, validated."""

    case: Case
    #: ``module:attr`` of the app, or None when the case names only middleware.
    app: str | None
    #: ``module:attr`` of a list of middleware (a stack fuzzed without an app).
    middleware: str | None = None
    #: ``app`` names a factory returning the app.
    factory: bool = False
    #: The invariant the case was saved for (None: a case that must pass).
    invariant: str | None = None
    #: What a replay must show to count as "the bug is still there".
    expect: str | None = None
    description: str = ""
    asgifuzz_version: str = ""
    virtual_time: bool = True
    message: str = ""
    where: str = ""
    #: The project root (absolute) and the app's import folder relative to it
    #: (absolute when outside it); None in files saved before they were recorded.
    project_root: Path | None = None
    app_dir: str | None = None
    #: Where it was loaded from.
    path: Path | None = None

    def import_dir(self) -> str | None:
        """The folder the app imports from, as recorded; None when the file does not say."""
        if self.app_dir is None:
            return None
        if self.project_root is None or os.path.isabs(self.app_dir):
            return self.app_dir
        return str((self.project_root / self.app_dir).resolve())

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else file_name(self)


@dataclass(slots=True)
class ReplayResult:
    """The outcome of replaying one corpus case."""

    corpus_case: CorpusCase
    findings: list[Finding] = field(default_factory=list)
    #: The replay's message trace (client, server, app).
    trace: list[TraceEvent] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return bool(self.findings)

    @property
    def outcome(self) -> str:
        if not self.findings:
            return "passing"
        codes = [f.code for f in self.findings]
        if self.corpus_case.expect is not None and self.corpus_case.expect in codes:
            return "still failing"
        return f"failing: {codes[0]}"

    @property
    def finding(self) -> Finding | None:
        """The finding that matches the expected invariant, else the first one."""
        for f in self.findings:
            if f.code == self.corpus_case.expect:
                return f
        return self.findings[0] if self.findings else None


# ----------------------------------------------------------------- writing


def case_from_finding(
    finding: Finding,
    *,
    app: str | None,
    middleware: str | None = None,
    factory: bool = False,
    virtual_time: bool = True,
    description: str | None = None,
    app_dir: str | os.PathLike[str] | None = None,
    project_root: str | os.PathLike[str] | None = None,
) -> CorpusCase:
    """The corpus entry for ``finding`` (which must carry its case).

    ``app_dir`` is the folder the app imports from and ``project_root`` the
    project's folder (``asgifuzz._project.find_root``); the file records the
    first relative to the second, so a replay finds the app from anywhere.
    """
    from asgifuzz import __version__

    if finding.case is None:
        raise UsageError("this finding has no replayable case to save")
    code = finding.code
    return CorpusCase(
        case=finding.case,
        app=app,
        middleware=middleware,
        factory=factory,
        invariant=code,
        expect=code,
        description=description if description is not None else f"{finding.invariant.title}: {finding.message}",
        asgifuzz_version=__version__,
        virtual_time=virtual_time,
        message=finding.message,
        where=finding.where,
        **_location(app_dir, project_root),
    )


def _location(app_dir: str | os.PathLike[str] | None, root: str | os.PathLike[str] | None) -> dict[str, Any]:
    if root is None:
        return {}
    project_root = Path(root).resolve()
    folder = project_root / (app_dir if app_dir is not None else ".")
    return {"project_root": project_root, "app_dir": _relative_to(folder.resolve(), project_root)}


def _relative_to(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` in POSIX form when inside it, else absolute."""
    try:
        return path.relative_to(base).as_posix() or "."
    except ValueError:
        return str(path)


def _identity(cc: CorpusCase) -> dict[str, Any]:
    """The fields the content hash covers: everything that decides the replay."""
    return {
        "app": cc.app,
        "middleware": cc.middleware,
        "factory": cc.factory,
        **case_to_json(cc.case),
        "virtual_time": cc.virtual_time,
        "expect": _expect_json(cc.expect),
    }


def _expect_json(expect: str | None) -> str | dict[str, str]:
    return "pass" if expect is None else {"violation": expect}


def to_document(cc: CorpusCase, directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The JSON document for ``cc`` (format ``FORMAT``), to be written in ``directory``.

    The location (project root, app folder) is not part of the content hash:
    the same case found from another checkout lands in the same file.
    """
    doc = _identity(cc)
    doc.update(
        {
            "format": FORMAT,
            "asgifuzz": cc.asgifuzz_version,
            "invariant": cc.invariant,
            "description": cc.description,
        }
    )
    if cc.message:
        doc["message"] = cc.message
    if cc.where:
        doc["where"] = cc.where
    if cc.project_root is not None and cc.app_dir is not None:
        here = Path(directory if directory is not None else ".").resolve()
        root = cc.project_root.resolve()
        inside = here == root or root in here.parents
        doc["project_root"] = os.path.relpath(root, here).replace(os.sep, "/") if inside else str(root)
        doc["app_dir"] = cc.app_dir
    return doc


def dump_document(doc: dict[str, Any]) -> str:
    """The one serialisation used for corpus files (stable key order and escaping)."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def content_hash(cc: CorpusCase) -> str:
    canonical = json.dumps(_identity(cc), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def file_name(cc: CorpusCase) -> str:
    return f"{cc.invariant or 'pass'}-{content_hash(cc)[:12]}.json"


def save_case(cc: CorpusCase, corpus_dir: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> Path:
    """Write ``cc`` atomically under ``corpus_dir`` and return its path.

    The same case always gets the same file name, so saving it again (from
    another process, say) replaces the file with an equivalent one.
    """
    directory = Path(corpus_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(cc)
    text = dump_document(to_document(cc, directory))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes the file 0600; a corpus is shared (committed, read by
        # CI and colleagues), so it gets the mode any new file gets here.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_finding(
    finding: Finding,
    app: str | None,
    corpus_dir: str | os.PathLike[str] = DEFAULT_CORPUS_DIR,
    *,
    middleware: str | None = None,
    factory: bool = False,
    virtual_time: bool = True,
    app_dir: str | os.PathLike[str] | None = None,
    project_root: str | os.PathLike[str] | None = None,
) -> Path:
    """Save ``finding`` as a corpus file; ``app`` is its ``module:attr`` (see ``case_from_finding``)."""
    cc = case_from_finding(
        finding, app=app, middleware=middleware, factory=factory, virtual_time=virtual_time,
        app_dir=app_dir, project_root=project_root,
    )  # fmt: skip
    return save_case(cc, corpus_dir)


# ----------------------------------------------------------------- loading


def _str(doc: dict[str, Any], key: str, *, optional: bool = False, nullable: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and (optional or nullable):
        return None
    if not isinstance(value, str):
        raise CorpusError(f"/{key}: expected a string, got {value!r}")
    return value


def _bool(doc: dict[str, Any], key: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise CorpusError(f"/{key}: expected true or false, got {value!r}")
    return value


def _app_spec(value: str | None, key: str) -> str | None:
    if value is not None:
        module, sep, attr = value.partition(":")
        if not sep or not module or not attr:
            raise CorpusError(f"/{key}: expected 'module:attr', got {value!r}")
    return value


def _invariant(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise CorpusError(f"{where}: expected an invariant code, got {value!r}")
    if value not in INVARIANTS:
        raise CorpusError(f"{where}: unknown invariant {value!r} (see 'asgifuzz checks')")
    return value


def from_document(doc: object) -> CorpusCase:
    """Validate a parsed JSON document; raises ``CorpusError`` naming the JSON pointer."""
    if not isinstance(doc, dict):
        raise CorpusError(f"expected a JSON object at the top level, got {type(doc).__name__}")
    fmt = doc.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise CorpusError(f"/format: expected an integer schema version, got {fmt!r}")
    if fmt > FORMAT:
        raise CorpusError(
            f"/format: format {fmt} is newer than this asgifuzz reads (up to {FORMAT}); upgrade asgifuzz"
        )
    if fmt < 1:
        raise CorpusError(f"/format: invalid format {fmt}")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise CorpusError(f"missing key(s): {', '.join(missing)}")
    unknown = sorted(set(doc) - _KNOWN)
    if unknown:
        raise CorpusError(f"unknown key(s): {', '.join(unknown)}")
    app = _app_spec(_str(doc, "app", nullable=True), "app")
    middleware = _app_spec(_str(doc, "middleware", optional=True), "middleware")
    if app is None and middleware is None:
        raise CorpusError("/app: null needs a /middleware 'module:attr'")
    invariant = None if doc["invariant"] is None else _invariant(doc["invariant"], "/invariant")
    raw_expect = doc["expect"]
    expect: str | None
    if raw_expect == "pass":
        expect = None
    elif isinstance(raw_expect, dict) and set(raw_expect) == {"violation"}:
        expect = _invariant(raw_expect["violation"], "/expect/violation")
    else:
        raise CorpusError(f"/expect: expected \"pass\" or {{\"violation\": code}}, got {raw_expect!r}")
    case = case_from_json(doc)
    version = _str(doc, "asgifuzz")
    root = _str(doc, "project_root", optional=True)
    app_dir = _str(doc, "app_dir", optional=True)
    return CorpusCase(
        case=case,
        app=app,
        middleware=middleware,
        factory=_bool(doc, "factory", False),
        invariant=invariant,
        expect=expect,
        description=_str(doc, "description", optional=True) or "",
        asgifuzz_version=version or "",
        virtual_time=_bool(doc, "virtual_time", True),
        message=_str(doc, "message", optional=True) or "",
        where=_str(doc, "where", optional=True) or "",
        project_root=None if root is None else Path(root),
        app_dir=app_dir,
    )


def load_case(path: str | os.PathLike[str]) -> CorpusCase:
    """Load and validate one corpus file.

    Raises:
        CorpusError: one line, ``<path>: <problem>``.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise CorpusError(f"{p}: empty file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated")
        hint = " (truncated?)" if ends_early else ""
        raise CorpusError(f"{p}: invalid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CorpusError(f"{p}: invalid JSON: nested too deeply") from None
    try:
        cc = from_document(doc)
    except CorpusError as exc:
        raise CorpusError(f"{p}: {exc}") from None
    root = cc.project_root
    if root is not None and not root.is_absolute():
        root = (p.parent / root).resolve()  # recorded relative to the file's folder
    return CorpusCase(**{**_fields(cc), "path": p, "project_root": root})


def _fields(cc: CorpusCase) -> dict[str, Any]:
    return {name: getattr(cc, name) for name in CorpusCase.__dataclass_fields__}


def corpus_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Expand files and directories (recursively, ``*.json``, sorted) into files."""
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.json") if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            files.append(p)
        else:
            errors.append(f"{p}: no such file or directory")
    return files, errors


def load_corpus(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[CorpusCase], list[str]]:
    """Load every case under ``paths``; bad files give one error line each and are skipped."""
    files, errors = corpus_files(paths)
    cases: list[CorpusCase] = []
    for f in files:
        try:
            cases.append(load_case(f))
        except CorpusError as exc:
            errors.append(str(exc))
    return cases, errors


# ------------------------------------------------------------------ replay


class AppCache:
    """Imports each app once and discovers its targets once, per replay session."""

    def __init__(self) -> None:
        self._targets: dict[tuple[str | None, str | None, bool, str | None], dict[str, Any]] = {}

    def targets(self, cc: CorpusCase, *, app: str | None = None, app_dir: str | None = None) -> dict[str, Any]:
        from asgifuzz._targets import discover_targets

        app_spec = app if app is not None else cc.app
        if app_dir is None and app is None:
            app_dir = cc.import_dir()  # where the run that saved it imported the app from
        key = (app_spec, cc.middleware if app is None else None, cc.factory, app_dir)
        found = self._targets.get(key)
        if found is None:
            extra = [str(cc.path.parent)] if cc.path is not None else []
            app_obj = None if app_spec is None else _load(app_spec, app_dir, extra, factory=cc.factory and app is None)
            mw_obj = None if key[1] is None else _load(key[1], app_dir, extra, factory=False, callable_=False)
            targets = discover_targets(app_obj, middleware=mw_obj)
            if mw_obj is not None and cc.case.target.startswith("compose["):
                targets = discover_targets(None, middleware=mw_obj, compose=True)
            found = {t.id: t for t in targets}
            self._targets[key] = found
        return found


def _load(spec: str, app_dir: str | None, extra: Sequence[str], *, factory: bool, callable_: bool = True) -> Any:
    from asgifuzz._loading import load_object, load_target

    if app_dir is None:
        # The working directory first, then the corpus file's own folder (the
        # committed corpus keeps the apps it refers to next to its cases).
        for d in extra:
            if d not in sys.path:
                sys.path.append(d)
    if callable_:
        return load_target(spec, app_dir=app_dir, factory=factory)
    return load_object(spec, app_dir=app_dir, what="middleware list")


def replay_case(
    cc: CorpusCase,
    *,
    app: str | None = None,
    app_dir: str | None = None,
    cache: AppCache | None = None,
) -> ReplayResult:
    """Replay one corpus case with the driver and oracles (no Hypothesis).

    Args:
        cc: the loaded case.
        app: replay against this ``module:attr`` instead of the file's app.
        app_dir: import the app from this directory.
        cache: share imported apps between replays.

    Raises:
        UsageError: the app cannot be imported.
        CorpusError: the app has no target of the case's name.
    """
    from asgifuzz._config import Settings

    targets = (cache or AppCache()).targets(cc, app=app, app_dir=app_dir)
    target = targets.get(cc.case.target)
    if target is None:
        where = f"{cc.path}: " if cc.path is not None else ""
        known = ", ".join(repr(t) for t in targets)
        raise CorpusError(f"{where}/target: the app has no target {cc.case.target!r} (it has {known})")
    outcome, findings = target.run(cc.case, Settings(virtual_time=cc.virtual_time))
    return ReplayResult(cc, list(findings), list(outcome.trace))


def replay_command(path: str | os.PathLike[str], *, app_dir: str | None = None) -> str:
    """The shell command that replays ``path``."""
    import shlex

    parts = ["asgifuzz", "replay", str(path)]
    if app_dir is not None:
        parts += ["--app-dir", app_dir]
    return " ".join(shlex.quote(p) for p in parts)

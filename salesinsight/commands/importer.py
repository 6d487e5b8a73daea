"""`salesinsight import SRC_DIR --out DIR (--preset NAME | --mapping FILE.yaml)`: CRM export -> data folder."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesinsight.data.importers import ImportMapping
    from salesinsight.data.problems import Problem


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `import` sub-command."""
    p = sub.add_parser(
        "import",
        help="turn a CRM export (a preset per CRM, or any CSV/Excel + mapping) into a data folder",
        description=(
            "Read the export files in SRC_DIR with a preset and/or a YAML column mapping, check "
            "everything first (all problems at once, nothing written on error), write a NEW data "
            "folder (staging folder, then renamed) and validate it. The input is only read. "
            "Mapping format and presets: docs/importers.md."
        ),
    )
    p.add_argument("source", metavar="SRC_DIR", nargs="?", help="folder with the export files")
    p.add_argument("--out", metavar="DIR", help="data folder to create (must not exist)")
    p.add_argument(
        "--preset", metavar="NAME", help="bundled mapping (see --list-presets), e.g. salesforce"
    )
    p.add_argument(
        "--mapping",
        metavar="FILE",
        help="YAML mapping (merged onto --preset when both are given)",
    )
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="TABLE.COL=HEADER",
        help="map a contract column from a source header (repeatable), e.g. reps.team_id=Team",
    )
    p.add_argument(
        "--constant",
        action="append",
        default=[],
        metavar="TABLE.COL=VALUE",
        help="set a contract column to a constant (repeatable), e.g. reps.team_id=T1",
    )
    p.add_argument(
        "--date-format",
        action="append",
        default=[],
        metavar="FMT",
        help="strptime date format tried after ISO 8601, replacing the defaults (repeatable), "
        "e.g. '%%m/%%d/%%Y'",
    )
    p.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="output files (default csv)"
    )
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument("--check", action="store_true", help="dry run: report problems, write nothing")
    p.add_argument("--no-validate", action="store_true", help="skip validating the written folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--list-presets", action="store_true", help="list the bundled presets")
    p.add_argument("--show-preset", metavar="NAME", help="print a preset's YAML (to adapt)")
    p.add_argument(
        "--suggest",
        metavar="EXPORT_DIR",
        help="print a draft mapping guessed from the headers and values of EXPORT_DIR's files",
    )
    p.set_defaults(handler=run)


def _assignments(items: list[str], key: str, option: str) -> list[dict[str, Any]]:
    """``TABLE.COL=X`` strings -> mapping overlays; ValueError naming the bad option."""
    overlays = []
    for item in items:
        target, sep, value = item.partition("=")
        table, dot, column = target.partition(".")
        if not sep or not dot or not table or not column:
            raise ValueError(f"{option} expects TABLE.COLUMN=VALUE, got {item!r}")
        overlays.append({"tables": {table: {key: {column: value}}}})
    return overlays


def run(args: argparse.Namespace) -> int:
    """Run the import; 0 on success, 1 on data problems or a folder failing validation, 2 on usage."""
    from salesinsight.data.importers import ImporterError, check_import, import_folder, load_mapping

    if args.list_presets or args.suggest or args.show_preset:
        return _show(args)
    usage = _usage_error(args)
    if usage is not None:
        print(f"{_PROG}: {usage}", file=sys.stderr)
        return 2
    try:
        overlays = _assignments(args.column, "columns", "--column")
        overlays += _assignments(args.constant, "constants", "--constant")
    except ValueError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    if args.date_format:
        overlays.append({"date_formats": list(args.date_format)})
    try:
        mapping = load_mapping(args.mapping, preset=args.preset, overrides=overlays)
        if args.check:
            return _report_check(args, mapping, check_import(args.source, mapping))
        result = import_folder(
            args.source,
            args.out,
            mapping,
            force=args.force,
            fmt=args.format,
            validate=not args.no_validate,
        )
    except ImporterError as exc:
        if args.json:
            out = {"ok": False, "problems": [p.to_dict() for p in exc.problems]}
            print(json.dumps(out, indent=2, ensure_ascii=False))
        else:
            print(f"{_PROG}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out = {
            "ok": result.ok,
            "folder": str(result.folder),
            "rows": result.rows,
            "problems": [p.to_dict() for p in result.problems],
            "validation": None if result.report is None else result.report.to_dict(),
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(result.summary())
    return 0 if result.ok else 1


_PROG = "salesinsight import"


def _show(args: argparse.Namespace) -> int:
    """List the presets, print a suggested mapping or print a preset's YAML."""
    from salesinsight.data.importers import list_presets, preset_path

    if args.list_presets:
        for name, description in list_presets().items():
            print(f"{name}: {description}")
        return 0
    if args.suggest:
        from salesinsight.data.importers.suggest import suggest_mapping

        try:
            print(suggest_mapping(args.suggest), end="")
        except FileNotFoundError as exc:
            print(f"{_PROG}: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        print(preset_path(args.show_preset).read_text(encoding="utf-8"), end="")
    except KeyError as exc:
        print(f"{_PROG}: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


def _usage_error(args: argparse.Namespace) -> str | None:
    """Return what is missing from the command line, or None."""
    if args.source is None:
        return "SRC_DIR is required"
    if not args.check and args.out is None:
        return "--out DIR is required (or --check for a dry run)"
    if args.preset is None and args.mapping is None:
        return "give --preset NAME and/or --mapping FILE.yaml"
    return None


def _report_check(
    args: argparse.Namespace, mapping: ImportMapping, problems: Sequence[Problem]
) -> int:
    """Print the dry run's problems (text or JSON); 1 when any is an error."""
    errors = [p for p in problems if p.severity == "error"]
    if args.json:
        out = {"ok": not errors, "problems": [p.to_dict() for p in problems]}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        verdict = "FAILED" if errors else "OK"
        print(f"Check of {args.source} with mapping {mapping.name!r}: {verdict}")
        for p in problems:
            print(f"  - {p}")
    return 1 if errors else 0

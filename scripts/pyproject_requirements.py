"""Print the project's pinned requirements from pyproject.toml, one a line: its dependencies plus the named extras
(`--only` for the extras alone). The image installs dependencies from this list, so its dependency layer depends
on pyproject.toml only and survives edits to the code.

    python scripts/pyproject_requirements.py chatterbox transcribe > requirements.txt
    python scripts/pyproject_requirements.py --only bake
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str], only: bool = False) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [name for name in extras if name not in optional]
    if unknown:
        raise SystemExit(f"unknown extra(s) {', '.join(unknown)}; pyproject.toml has {', '.join(sorted(optional))}")
    chosen = [] if only else list(project.get("dependencies", []))
    for name in extras:
        chosen += [req for req in optional[name] if req not in chosen]
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", help="extras to add (names under [project.optional-dependencies])")
    parser.add_argument("--only", action="store_true", help="the extras' requirements without the dependencies")
    parser.add_argument("--pyproject", type=Path, default=Path(__file__).resolve().parent.parent / "pyproject.toml")
    args = parser.parse_args(argv)
    extras = [name for arg in args.extras for name in arg.replace(",", " ").split()]
    sys.stdout.write("".join(f"{req}\n" for req in requirements(args.pyproject, extras, args.only)))


if __name__ == "__main__":
    main()

"""Hostile YAML documents for params files and importer mappings (see README.md).

Each entry: name -> (document text, words the error message must contain). Keep adding.
"""

from __future__ import annotations


def billion_laughs(levels: int = 9, width: int = 9, key: str = "programs") -> str:
    """The classic alias bomb: ``levels`` anchors of ``width`` aliases, 9**9 values at 9 x 9."""
    lines = ["quarter: 2026Q2", "data_dir: .", "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"{key}: *a{levels - 1}")
    return "\n".join(lines) + "\n"


#: merge keys (``<<: *x``) copy mappings: the same bomb through mappings
MERGE_BOMB = (
    "\n".join(
        [
            "quarter: 2026Q2",
            "data_dir: .",
            "m0: &m0 {" + ", ".join(f"k{j}: lol" for j in range(9)) + "}",
        ]
        + [
            f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(9)) + "}"
            for i in range(1, 9)
        ]
        + ["title: *m8"]
    )
    + "\n"
)

DOCUMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "billion_laughs_list": (billion_laughs(), ("expands to more than", "alias")),
    "billion_laughs_title": (billion_laughs(key="title"), ("expands to more than",)),
    "billion_laughs_mapping": (MERGE_BOMB, ("expands to more than",)),
    "recursive_alias": ("quarter: 2026Q2\ndata_dir: .\nprograms: &p [P1, *p]\n", ("contains it",)),
    "deep_nesting": ("programs: " + "[" * 5000 + "]" * 5000 + "\n", ("nested deeper",)),
    "oversized": ("title: " + "x" * 1_200_000 + "\n", ("at most 1,000,000 bytes",)),
    "undefined_alias_with_huge_name": (
        "quarter: *" + "A" * 100_000 + "\n",
        ("not valid YAML", "more characters"),
    ),
    "huge_unknown_key_and_value": (
        "quarter: 2026Q2\ndata_dir: .\n? " + "k" * 100_000 + "\n: " + "v" * 500_000 + "\n",
        ("more characters",),
    ),
    "many_unknown_keys": (
        "quarter: 2026Q2\ndata_dir: .\n" + "".join(f"unknown_{i}: {i}\n" for i in range(5000)),
        ("and 4950 more",),
    ),
}

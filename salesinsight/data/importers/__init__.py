"""Importers: CRM exports (Salesforce, Jiandaoyun, any CSV with a column mapping) -> a data folder.

>>> from salesinsight.data.importers import import_folder
>>> result = import_folder("exports/sfdc", "data/sfdc", preset="salesforce",
...                        mapping={"tables": {"reps": {"columns": {"team_id": "Team__c"}}}})
...                                                              # doctest: +SKIP
>>> print(result.summary())                                      # doctest: +SKIP

The mapping format is documented in ``docs/importers.md``; bundled presets: :func:`list_presets`.
"""

from salesinsight.data.importers.mapping import (
    DEFAULT_DATE_FORMATS,
    ColumnSpec,
    ImporterError,
    ImportMapping,
    ImportProblem,
    ImportResult,
    SourceSpec,
    check_import,
    import_folder,
    list_presets,
    load_mapping,
    merge_mappings,
    preset_dict,
    preset_path,
)

__all__ = [
    "import_folder",
    "check_import",
    "load_mapping",
    "merge_mappings",
    "list_presets",
    "preset_dict",
    "preset_path",
    "ImportMapping",
    "SourceSpec",
    "ColumnSpec",
    "ImportProblem",
    "ImportResult",
    "ImporterError",
    "DEFAULT_DATE_FORMATS",
]

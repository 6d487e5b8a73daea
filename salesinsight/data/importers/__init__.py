"""Importers: CRM exports (presets per CRM, or any CSV/Excel with a column mapping) -> a data folder.

>>> from salesinsight.data.importers import import_folder
>>> result = import_folder("exports/sfdc", "data/sfdc", preset="salesforce",
...                        mapping={"tables": {"reps": {"columns": {"team_id": "Team__c"}}}})
...                                                              # doctest: +SKIP
>>> print(result.summary())                                      # doctest: +SKIP

The mapping format is documented in ``docs/importers.md``; bundled presets: :func:`list_presets`.
"""

from salesinsight.data.importers.presets import (
    list_presets,
    load_mapping,
    merge_mappings,
    preset_dict,
    preset_path,
)
from salesinsight.data.importers.problems import ImporterError, ImportProblem
from salesinsight.data.importers.run import ImportResult, check_import, import_folder
from salesinsight.data.importers.spec import (
    DEFAULT_DATE_FORMATS,
    ColumnSpec,
    ImportMapping,
    SourceSpec,
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

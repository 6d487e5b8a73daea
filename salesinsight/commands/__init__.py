"""Sub-commands of the ``salesinsight`` CLI, one module each (``add_parser`` + ``run``)."""

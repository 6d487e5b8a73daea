"""salesinsight.report."""

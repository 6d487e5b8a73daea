"""salesinsight.metrics."""

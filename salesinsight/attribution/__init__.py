"""salesinsight.attribution."""

"""Command-line tools: sample data, DAG runs without a scheduler, results, rollback."""

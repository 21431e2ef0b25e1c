"""flowtrack adapter for prefect."""

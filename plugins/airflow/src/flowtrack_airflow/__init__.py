"""flowtrack adapter for airflow."""

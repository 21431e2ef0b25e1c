"""MLflow's run-search filter and order_by grammar, independent of any store."""

"""flowtrack adapter for spark."""

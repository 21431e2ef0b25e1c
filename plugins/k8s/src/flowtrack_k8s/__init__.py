"""flowtrack adapter for k8s."""

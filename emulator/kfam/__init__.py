"""Kubeflow access management (KFAM): contributor bindings and Profiles over the cluster model
(docs/upstream/kubeflow-platform.md section 1)."""

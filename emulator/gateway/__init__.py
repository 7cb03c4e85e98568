"""The ingress gateway of full Kubeflow: Istio's routing and JWT checks, oauth2-proxy + Dex login,
and the central dashboard's workgroup API (docs/upstream/kubeflow-platform.md sections 2-5)."""

"""The Kubernetes API surface of the emulator (the KUBE listener)."""

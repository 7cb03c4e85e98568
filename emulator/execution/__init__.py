"""Runs executing in their tenant's namespace: Argo Workflows, Pods, artifacts and metadata.

``engine.ExecutionEngine`` is attached to an :class:`~emulator.core.Emulator` as
``Emulator.execution``; ``spec`` reads what a run executes, ``workflow`` renders the Kubernetes
objects, ``admission`` and ``platform`` are the cluster's checks on a pod, ``outputs`` makes a
task's simulated results and ``recording`` writes them to the object store and ML Metadata.
"""

"""A small web UI for reproducing isolation problems in a browser.

Served under ``/pipeline/`` by the UI server for every path it does not handle itself; it talks
only to the UI server's public surface (the API proxy, artifacts, pod logs, ML Metadata), as a
browser would, plus one emulator-only JSON view of authorization decisions.
"""

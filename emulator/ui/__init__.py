"""ml-pipeline-ui's server (KFP ``frontend/server``): the endpoints that touch tenant data.

It proxies the KFP API, serves artifacts from the object store and pod logs with the UI's own
(admin) credentials, which is why its namespace checks matter, and proxies ML Metadata's
gRPC-web calls without any check.  Everything else goes to the web UI.
"""

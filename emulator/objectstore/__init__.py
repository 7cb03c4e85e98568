"""The S3-compatible object store of the data plane: MinIO (KFP <= 2.14) or SeaweedFS (>= 2.15).

``models`` holds buckets, objects and credentials; ``policy`` decides what a credential may do;
``sigv4`` checks AWS Signature V4; ``s3`` serves the path-style S3 REST API; ``provisioning``
writes each profile namespace's ``mlpipeline-minio-artifact`` Secret.
"""

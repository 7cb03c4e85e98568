"""ML Metadata (MLMD) as KFP deploys it: the store (``store``), its wire messages
(``schema``), the MetadataStoreService methods (``service``) and metadata-envoy's gRPC-web
front (``grpc_web``), plus a gRPC-web client (``client``)."""

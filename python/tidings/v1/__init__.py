"""Generated protobuf and gRPC code for tidings.v1."""

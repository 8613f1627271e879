"""gRPC servicers: translate between protobuf and the engine; no business rules here."""

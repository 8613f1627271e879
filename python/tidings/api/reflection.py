"""Server reflection, ``grpc.reflection.v1`` as well as ``v1alpha``.

grpcio-reflection serves only ``v1alpha``; current clients (grpcurl, Postman, buf curl)
ask ``v1`` first. The two protocols are the same messages with the same field numbers
under another package, so one servicer answers both: ``v1`` is registered by hand with
the ``v1alpha`` messages' (de)serialisers, and its descriptor (``v1alpha``'s, renamed)
is added to the default pool, so reflection describes ``v1`` itself too.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from grpc_reflection.v1alpha import reflection, reflection_pb2

__all__ = ["SERVICES", "V1ALPHA_SERVICE", "V1_SERVICE", "enable"]

V1ALPHA_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
V1_SERVICE = "grpc.reflection.v1.ServerReflection"

_V1_FILE = "grpc/reflection/v1/reflection.proto"


def _add_v1_descriptor() -> None:
    """Put the ``v1`` file into the default pool (once): ``v1alpha``'s under v1's names."""
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(_V1_FILE)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    proto.ClearField("options")  # v1alpha's language packages; v1 needs none here
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name[len(old) :]
    for service in proto.service:
        for method in service.method:
            method.input_type = new + method.input_type[len(old) :]
            method.output_type = new + method.output_type[len(old) :]
    pool.AddSerializedFile(proto.SerializeToString())


_add_v1_descriptor()

#: The two reflection services, as descriptors.
SERVICES: tuple[ServiceDescriptor, ...] = (
    reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
    descriptor_pool.Default().FindServiceByName(V1_SERVICE),
)


def enable(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Serve reflection ``v1alpha`` and ``v1`` for ``service_names`` (theirs included)."""
    names = list(service_names)
    reflection.enable_server_reflection(names, server)
    servicer = reflection.aio.ReflectionServicer(names)  # type: ignore[attr-defined]
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE, {"ServerReflectionInfo": handler}),)
    )

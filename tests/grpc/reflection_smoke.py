"""A generic gRPC client (the role grpcurl plays) against a running log service.

It knows nothing of our .proto: it lists the services through server reflection, builds the
LogQuery request and response types from the reflected descriptors, and calls ListEvents and
the standard health check. Usage: reflection_smoke.py HOST:PORT TENANT_ID EXPECTED_EVENT_ID
Prints one line per step and `N passed, 0 failed`; exits 1 on the first failure.
"""

import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "outpost.log.v1.LogQuery"


def main() -> int:
    target, tenant, event_id = sys.argv[1], sys.argv[2], sys.argv[3]
    passed = 0
    channel = grpc.insecure_channel(target)
    db = ProtoReflectionDescriptorDatabase(channel)

    def ok(step: str) -> None:
        nonlocal passed
        passed += 1
        print(f"ok: {step}")

    services = list(db.get_services())
    if SERVICE not in services or "grpc.health.v1.Health" not in services:
        print(f"FAIL: list services: {services}")
        return 1
    ok(f"list services ({', '.join(sorted(services))})")

    pool = descriptor_pool.DescriptorPool(db)
    service = pool.FindServiceByName(SERVICE)
    method = service.methods_by_name["ListEvents"]
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    ok(f"resolve {SERVICE}.ListEvents from reflection")

    request = request_cls()
    request.tenant_ids.append(tenant)
    request.page.limit = 10
    call = channel.unary_unary(
        f"/{SERVICE}/ListEvents",
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )
    response = call(request, timeout=10)
    ids = [e.id for e in response.events]
    if event_id not in ids:
        print(f"FAIL: ListEvents for {tenant}: got {ids}")
        return 1
    ok(f"ListEvents returns {event_id}")

    health = pool.FindServiceByName("grpc.health.v1.Health").methods_by_name["Check"]
    hreq = message_factory.GetMessageClass(health.input_type)(service=SERVICE)
    hresp_cls = message_factory.GetMessageClass(health.output_type)
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=type(hreq).SerializeToString,
        response_deserializer=hresp_cls.FromString,
    )
    status = check(hreq, timeout=10).status
    if status != 1:  # SERVING
        print(f"FAIL: health status {status}")
        return 1
    ok("health check SERVING")
    print(f"{passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:  # noqa: BLE001 - report any RPC failure clearly
        print(f"FAIL: {e.code()}: {e.details()}")
        sys.exit(1)

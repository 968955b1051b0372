"""Tests of sb_fake.py: the official azure-servicebus client (pure-Python AMQP) for the flows, raw
proton for the wire details azservicebus (fe2o3-amqp) depends on.

    python3 -m venv /tmp/sbtest-venv
    /tmp/sbtest-venv/bin/pip install azure-servicebus python-qpid-proton==0.40.0 pytest
    /tmp/sbtest-venv/bin/python -m pytest -q scripts/standins/test_sb_fake.py

The fixture starts the fake (with SB_FAKE_PYTHON, default this interpreter) on SB_FAKE_TEST_HOST
(default 127.0.0.5; AMQP :5672, control :5673, management :5300), a loopback address of its own: Service Bus clients
always dial port 5672 with UseDevelopmentEmulator=true, 127.0.0.1:5672 may be RabbitMQ,
127.0.0.2 is the suite's fake and the e2e suite expects nothing on 127.0.0.3.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest

sb = pytest.importorskip("azure.servicebus")
from azure.servicebus import (ServiceBusClient, ServiceBusMessage, ServiceBusReceiveMode,  # noqa: E402
                              ServiceBusSubQueue)
from azure.servicebus.exceptions import MessageLockLostError  # noqa: E402
from proton import Delivery, Link, Message, symbol, timestamp  # noqa: E402
from proton.reactor import LinkOption  # noqa: E402
from proton import Timeout  # noqa: E402
from proton.utils import BlockingConnection, LinkDetached  # noqa: E402

HOST = os.environ.get("SB_FAKE_TEST_HOST", "127.0.0.5")
CONTROL = f"http://{HOST}:5673"
MANAGEMENT = f"http://{HOST}:5300"
KEY_NAME, KEY = "RootManageSharedAccessKey", "SAS_KEY_VALUE"
CONN_STR = (f"Endpoint=sb://{HOST};SharedAccessKeyName={KEY_NAME};SharedAccessKey={KEY};"
            "UseDevelopmentEmulator=true")
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sb_fake.py")


# ------------------------------------------------------------------------------------------ helpers
def http(method, path, expect=None):
    req = urllib.request.Request(CONTROL + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    if expect is not None:
        assert status == expect, (method, path, status, body)
    return json.loads(body) if body else None


def entity(kind="q", **settings):
    """A new queue (or topic) name, created with the given lock_seconds / max_delivery_count."""
    name = f"{kind}-{uuid.uuid4().hex[:8]}"
    qs = urllib.parse.urlencode(settings)
    http("PUT", f"/entities/{name}" + (f"?{qs}" if qs else ""), 201)
    return name


@pytest.fixture(scope="session", autouse=True)
def fake(tmp_path_factory):
    log = open(tmp_path_factory.mktemp("sb") / "sb_fake.log", "w+")
    python = os.environ.get("SB_FAKE_PYTHON", sys.executable)  # e.g. the stand-ins venv's
    proc = subprocess.Popen([python, FAKE, "--listen", f"{HOST}:5672", "--control", f"{HOST}:5673",
                             "--management", f"{HOST}:5300",
                             "--entity", "Pre-Q", "--subscription", "pre-t/Subscriptions/S1", "-v"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while True:
        try:
            http("GET", "/health", 200)
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, "sb_fake did not start"
            time.sleep(0.1)
    time.sleep(0.3)  # the AMQP listener starts with the reactor, just after the control API
    yield proc
    proc.terminate()
    proc.wait(10)
    log.seek(0)
    sys.stderr.write(log.read()[-4000:])


@pytest.fixture(scope="session")
def client(fake):
    with ServiceBusClient.from_connection_string(CONN_STR) as c:
        yield c


def send(client, name, *bodies, **kw):
    with client.get_queue_sender(name) as s:
        s.send_messages([ServiceBusMessage(b, **kw) for b in bodies])


# ----------------------------------------------------------------------------- azure-servicebus flows
def test_send_peek_lock_receive_complete(client):
    q = entity()
    with client.get_queue_sender(q) as s:
        s.send_messages(ServiceBusMessage("héllo", message_id="m-1", content_type="application/json",
                                          application_properties={"topic": "user.created", "n": 7}))
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_message_count=5, max_wait_time=5)
        assert str(m) == "héllo"
        assert m.message_id == "m-1" and m.content_type == "application/json"
        assert m.application_properties == {b"topic": b"user.created", b"n": 7}
        assert m.delivery_count == 0 and m.sequence_number == 1
        assert m.locked_until_utc > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=50)
        assert abs(m.enqueued_time_utc.timestamp() - time.time()) < 10
        assert isinstance(m.lock_token, uuid.UUID)
        r.complete_message(m)
        assert r.receive_messages(max_wait_time=1) == []
    assert http("GET", f"/entities/{q}", 200) == {"name": q, "active": 0, "locked": 0, "dead_lettered": 0,
                                                 "subscriptions": []}


def test_abandon_redelivers_with_delivery_count_1(client):
    q = entity()
    send(client, q, "a")
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_wait_time=5)
        r.abandon_message(m)
        [m2] = r.receive_messages(max_wait_time=5)
        assert (str(m2), m2.delivery_count, m2.sequence_number) == ("a", 1, m.sequence_number)
        assert m2.lock_token != m.lock_token
        r.complete_message(m2)
    assert http("GET", f"/entities/{q}/messages", 200) == []


def test_lock_expiry_redelivers(client):
    q = entity(lock_seconds=2)
    send(client, q, "x")
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_wait_time=5)
        t0 = time.time()
        assert r.receive_messages(max_wait_time=1) == []  # still locked
        assert http("GET", f"/entities/{q}", 200)["locked"] == 1
        [m2] = r.receive_messages(max_wait_time=5)
        assert time.time() - t0 >= 1.5
        assert (str(m2), m2.delivery_count) == ("x", 1)
        with pytest.raises(MessageLockLostError):  # the client checks locked_until itself
            r.complete_message(m)
        r.complete_message(m2)


def test_renew_lock_keeps_message_locked(client):
    q = entity(lock_seconds=6)
    send(client, q, "r")
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_wait_time=5)
        first = m.locked_until_utc
        time.sleep(4)
        new = r.renew_message_lock(m)
        assert new > first + datetime.timedelta(seconds=3.5) and m.locked_until_utc == new
        time.sleep(2.5)  # past the first lock's expiry, 3.5 s before the renewed one's
        with client.get_queue_receiver(q) as other:
            assert other.receive_messages(max_wait_time=1) == []
        r.complete_message(m)
    time.sleep(1)
    assert http("GET", f"/entities/{q}", 200)["active"] == 0


def test_renew_lost_lock_is_message_lock_lost(client):
    q = entity(lock_seconds=1)
    send(client, q, "l")
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_wait_time=5)
        time.sleep(1.6)
        m._expiry = None  # skip the client's own expiry check: ask the service
        with pytest.raises(MessageLockLostError):
            r.renew_message_lock(m)


def test_dead_letter_after_max_delivery_count(client):
    q = entity(max_delivery_count=3)
    send(client, q, "poison", application_properties={"k": "v"})
    with client.get_queue_receiver(q) as r:
        for count in range(3):
            [m] = r.receive_messages(max_wait_time=5)
            assert m.delivery_count == count
            r.abandon_message(m)
        assert r.receive_messages(max_wait_time=1) == []
    with client.get_queue_receiver(q, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as d:
        [m] = d.receive_messages(max_wait_time=5)
        assert str(m) == "poison" and m.dead_letter_reason == "MaxDeliveryCountExceeded"
        assert m.dead_letter_error_description == "Message could not be consumed after 3 delivery attempts."
        d.abandon_message(m)  # stays in the dead-letter queue
    [dl] = http("GET", f"/entities/{q}/$deadletterqueue/messages", 200)
    assert dl["body"] == "poison" and dl["application_properties"]["DeadLetterReason"] == "MaxDeliveryCountExceeded"
    assert dl["application_properties"]["k"] == "v"
    assert http("GET", f"/entities/{q}/$DeadLetterQueue/messages", 200) == []


def test_explicit_dead_letter(client):
    q = entity()
    send(client, q, "bad")
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_wait_time=5)
        r.dead_letter_message(m, reason="Invalid", error_description="cannot parse")
    [dl] = http("GET", f"/entities/{q}/%24deadletterqueue/messages", 200)
    assert dl["application_properties"]["DeadLetterReason"] == "Invalid"
    assert dl["application_properties"]["DeadLetterErrorDescription"] == "cannot parse"
    assert dl["delivery_count"] == 0


def test_receive_and_delete(client):
    q = entity()
    send(client, q, "one", "two")
    with client.get_queue_receiver(q, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as r:
        got = []
        deadline = time.time() + 10
        while len(got) < 2 and time.time() < deadline:
            got += r.receive_messages(max_message_count=2, max_wait_time=2)
        assert sorted(str(m) for m in got) == ["one", "two"]
    assert http("GET", f"/entities/{q}", 200)["locked"] == 0
    assert http("GET", f"/entities/{q}/messages", 200) == []


def test_topic_copies_to_each_subscription(client):
    t = f"t-{uuid.uuid4().hex[:8]}"
    http("PUT", f"/entities/{t}/subscriptions/s1", 201)
    http("PUT", f"/entities/{t}/Subscriptions/S2?lock_seconds=5", 201)
    http("PUT", f"/entities/{t}/subscriptions/s2", 200)
    with client.get_topic_sender(t) as s:
        s.send_messages(ServiceBusMessage("fan-out", message_id="f-1"))
    for sub in ("s1", "S2"):
        with client.get_subscription_receiver(t, sub) as r:
            [m] = r.receive_messages(max_wait_time=5)
            assert (str(m), m.message_id, m.delivery_count) == ("fan-out", "f-1", 0)
            if sub == "S2":
                assert m.locked_until_utc < datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=6)
                r.abandon_message(m)
            else:
                r.complete_message(m)
    assert http("GET", f"/entities/{t}/messages", 200) == []
    assert http("GET", f"/entities/{t}/subscriptions/s1/messages", 200) == []
    [m] = http("GET", f"/entities/{t}/subscriptions/s2/messages", 200)
    assert (m["body"], m["delivery_count"]) == ("fan-out", 1)


def test_sender_only_flow_unchanged(client):
    """A topic without subscriptions keeps what is sent, for GET /entities/<name>/messages."""
    t = entity("topic")
    with client.get_topic_sender(t) as s:
        s.send_messages(ServiceBusMessage(b'{"a":1}', message_id="id-1", content_type="application/json",
                                          application_properties={"event-type": "user.created"}))
        batch = s.create_message_batch()
        for i in range(3):
            batch.add_message(ServiceBusMessage(f"b{i}", message_id=f"b-{i}"))
        s.send_messages(batch)
    msgs = http("GET", f"/entities/{t.upper()}/messages", 200)
    assert [m["message_id"] for m in msgs] == ["id-1", "b-0", "b-1", "b-2"]
    assert msgs[0]["body"] == '{"a":1}' and msgs[0]["content_type"] == "application/json"
    assert msgs[0]["body_base64"] == base64.b64encode(b'{"a":1}').decode()
    assert msgs[0]["application_properties"] == {"event-type": "user.created"}
    assert [m["sequence_number"] for m in msgs] == [1, 2, 3, 4]
    assert http("GET", f"/entities/{t}/messages", 200) == []
    http("DELETE", f"/entities/{t}", 200)
    http("GET", f"/entities/{t}/messages", 404)


def test_batch_send_then_receive(client):
    q = entity()
    with client.get_queue_sender(q) as s:
        batch = s.create_message_batch()
        for i in range(5):
            batch.add_message(ServiceBusMessage(f"m{i}", application_properties={"i": i}))
        s.send_messages(batch)
    got = []
    with client.get_queue_receiver(q) as r:
        deadline = time.time() + 10
        while len(got) < 5 and time.time() < deadline:
            for m in r.receive_messages(max_message_count=5, max_wait_time=2):
                got.append((str(m), m.application_properties[b"i"], m.sequence_number))
                r.complete_message(m)
    assert got == [(f"m{i}", i, i + 1) for i in range(5)]


def test_dead_letter_queue_of_a_subscription(client):
    t = f"t-{uuid.uuid4().hex[:8]}"
    http("PUT", f"/entities/{t}/subscriptions/s?max_delivery_count=1", 201)
    with client.get_topic_sender(t) as s:
        s.send_messages(ServiceBusMessage("once"))
    with client.get_subscription_receiver(t, "s") as r:
        [m] = r.receive_messages(max_wait_time=5)
        r.abandon_message(m)
    with client.get_subscription_receiver(t, "s", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as d:
        [m] = d.receive_messages(max_wait_time=5)
        assert m.dead_letter_reason == "MaxDeliveryCountExceeded"
        d.complete_message(m)
    assert http("GET", f"/entities/{t}/subscriptions/s/$deadletterqueue/messages", 200) == []


# ------------------------------------------------------------------ raw AMQP: what azservicebus sees
class RcvSecond(LinkOption):
    """Peek-lock as azservicebus attaches it: rcv-settle-mode second, snd-settle-mode unsettled."""

    def apply(self, link):
        link.rcv_settle_mode = Link.RCV_SECOND
        link.source.filter.put_map()  # azservicebus: an empty filter set on non-session receivers


class Target(LinkOption):
    def __init__(self, address):
        self.address = address

    def apply(self, link):
        link.target.address = self.address


def sas(audience, key=KEY, ttl=300):
    sr = urllib.parse.quote(audience, safe="")
    se = str(int(time.time()) + ttl)
    sig = base64.b64encode(hmac.new(key.encode(), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn={KEY_NAME}"


class Raw:
    """A blocking proton client speaking to the fake the way fe2o3-amqp does."""

    def __init__(self):
        self.conn = BlockingConnection(f"amqp://{HOST}:5672", timeout=10, allowed_mechs="ANONYMOUS")
        self.n = 0

    def close(self):
        self.conn.close()

    def request(self, node, operation, body, **props):
        self.n += 1
        reply_to = f"reply-{self.n}"
        snd = self.conn.create_sender(node)
        rcv = self.conn.create_receiver(node, credit=1, options=Target(reply_to))
        snd.send(Message(id=self.n, reply_to=reply_to, properties=dict(operation=operation, **props), body=body))
        reply = rcv.receive(10)
        rcv.accept()
        snd.close()
        rcv.close()
        return reply

    def put_token(self, audience):
        reply = self.request("$cbs", "put-token", sas(audience), type="servicebus.windows.net:sastoken",
                             name=audience)
        assert reply.properties["status-code"] == 202, reply.properties

    def receiver(self, address, credit=0, settled=False):
        opts = [RcvSecond()]
        if settled:
            class Settled(LinkOption):
                def apply(self, link):
                    link.snd_settle_mode = Link.SND_SETTLED
            opts.append(Settled())
        return self.conn.create_receiver(address, credit=credit, options=opts)

    def wait(self, cond, timeout=10):
        self.conn.wait(cond, timeout=timeout)

    def poll(self, cond, timeout=10):
        """Waits for a condition outside AMQP (the control API): conn.wait re-checks only after AMQP
        traffic, which may never come, so process in short slices (flushing our dispositions)."""
        deadline = time.time() + timeout
        while not cond():
            assert time.time() < deadline, "condition not met"
            try:
                self.conn.wait(lambda: False, timeout=0.05)
            except Timeout:
                pass


def delivery_tag(dlv):
    from cproton import ffi, lib
    t = lib.pn_delivery_tag(dlv._impl)
    return ffi.unpack(t.start, t.size)


@pytest.fixture
def raw(fake):
    r = Raw()
    yield r
    r.close()


def test_raw_wire_format_and_lock_lost_outcome(raw, client):
    q = entity(lock_seconds=1)
    send(client, q, "wire", message_id="w-1")
    address = f"sb://{HOST}/{q.upper()}"
    raw.put_token(address)
    rcv = raw.receiver(address)
    m = rcv.receive(10)
    dlv = rcv.fetcher.unsettled[-1]
    token = m.instructions["x-opt-lock-token"]
    assert isinstance(token, uuid.UUID)
    assert delivery_tag(dlv) == token.bytes_le  # Service Bus: the lock token as .NET Guid bytes
    ann = m.annotations
    assert type(ann["x-opt-sequence-number"]) is int and ann["x-opt-sequence-number"] == 1  # long
    assert isinstance(ann["x-opt-enqueued-time"], timestamp) and isinstance(ann["x-opt-locked-until"], timestamp)
    assert 0 < ann["x-opt-locked-until"] / 1000 - time.time() <= 1.1
    assert m.delivery_count == 0 and m.id == "w-1" and bytes(m.body) == b"wire"
    # renew-lock as azservicebus sends it: string key, array of uuid; string-keyed array of timestamps back
    from proton import Array, Data, UNDESCRIBED
    reply = raw.request(f"{q}/$management", "com.microsoft:renew-lock",
                        {"lock-tokens": Array(UNDESCRIBED, Data.UUID, token)},
                        **{"com.microsoft:server-timeout": 60000, "associated-link-name": "x"})
    assert reply.properties["statusCode"] == 200
    [exp] = reply.body["expirations"].elements
    assert isinstance(exp, timestamp) and exp / 1000 > time.time() + 0.5
    time.sleep(1.6)
    # the lock has expired: an unsettled accepted (rcv-settle-mode second) is refused with lock-lost
    dlv.update(Delivery.ACCEPTED)
    raw.wait(lambda: dlv.settled)
    assert dlv.remote_state == Delivery.REJECTED
    assert dlv.remote.condition.name == "com.microsoft:message-lock-lost"
    reply = raw.request(f"{q}/$management", "com.microsoft:renew-lock",
                        {"lock-tokens": Array(UNDESCRIBED, Data.UUID, token)})
    assert reply.properties["statusCode"] == 410
    assert reply.properties["errorCondition"] == symbol("com.microsoft:message-lock-lost")
    # redelivered (lock expiry counts a delivery); a valid accepted completes
    m2 = rcv.receive(10)
    dlv2 = rcv.fetcher.unsettled[-1]
    assert m2.delivery_count == 1 and m2.annotations["x-opt-sequence-number"] == 1
    dlv2.update(Delivery.ACCEPTED)
    raw.wait(lambda: dlv2.settled)
    assert dlv2.remote_state == Delivery.ACCEPTED
    assert http("GET", f"/entities/{q}", 200)["active"] == 0


def test_raw_credit_and_drain(raw, client):
    q = entity()
    send(client, q, "1", "2", "3")
    raw.put_token(f"sb://{HOST}/{q}")
    rcv = raw.conn.create_receiver(f"sb://{HOST}/{q}", credit=0, options=[RcvSecond()],
                                   handler=None)
    rcv.link.flow(2)
    raw.wait(lambda: rcv.fetcher.has_message == 2)
    time.sleep(0.5)
    assert rcv.fetcher.has_message == 2  # no more than the credit
    assert http("GET", f"/entities/{q}", 200) == {"name": q, "active": 1, "locked": 2, "dead_lettered": 0,
                                                 "subscriptions": []}
    rcv.link.drain(5)  # one message left: one sent, the rest of the credit drained
    raw.wait(lambda: not rcv.link.draining())
    assert rcv.fetcher.has_message == 3 and rcv.link.credit == 0


def test_raw_closed_link_keeps_locks_until_expiry(raw, client):
    q = entity(lock_seconds=2)
    send(client, q, "held")
    raw.put_token(f"sb://{HOST}/{q}")
    rcv = raw.receiver(f"sb://{HOST}/{q}")
    rcv.receive(10)
    t0 = time.time()
    rcv.close()
    raw.close()
    assert http("GET", f"/entities/{q}", 200)["locked"] == 1
    with client.get_queue_receiver(q) as r:
        [m] = r.receive_messages(max_wait_time=5)
        assert time.time() - t0 > 1.8 and m.delivery_count == 1
        r.complete_message(m)
    raw.conn = BlockingConnection(f"amqp://{HOST}:5672", timeout=10, allowed_mechs="ANONYMOUS")


def test_raw_receive_and_delete_and_released(raw, client):
    q = entity()
    send(client, q, "a", "b")
    raw.put_token(f"sb://{HOST}/{q}")
    rcv = raw.receiver(f"sb://{HOST}/{q}")
    rcv.receive(10)
    unlocked = lambda: http("GET", f"/entities/{q}", 200)["locked"] == 0  # noqa: E731
    rcv.release(delivered=False)  # released: back at once, no delivery counted (as Service Bus)
    raw.poll(unlocked)  # proton would send the next credit before the disposition
    m = rcv.receive(10)
    assert bytes(m.body) == b"a" and m.delivery_count == 0
    rcv.settle(Delivery.MODIFIED)  # modified = abandon: counted
    raw.poll(unlocked)
    m = rcv.receive(10)
    assert bytes(m.body) == b"a" and m.delivery_count == 1
    rcv.accept()
    rcv.close()
    rad = raw.receiver(f"sb://{HOST}/{q}", settled=True)
    m = rad.receive(10)
    assert bytes(m.body) == b"b" and "x-opt-locked-until" not in m.annotations
    assert rad.fetcher.unsettled == type(rad.fetcher.unsettled)()  # pre-settled
    assert http("GET", f"/entities/{q}", 200)["active"] == 0 and http("GET", f"/entities/{q}", 200)["locked"] == 0


def test_raw_update_disposition(raw, client):
    q = entity()
    send(client, q, "u1", "u2")
    raw.put_token(f"sb://{HOST}/{q}")
    rcv = raw.receiver(f"sb://{HOST}/{q}", credit=2)
    raw.wait(lambda: rcv.fetcher.has_message == 2)
    t1 = rcv.receive(1).instructions["x-opt-lock-token"]
    t2 = rcv.receive(1).instructions["x-opt-lock-token"]
    from proton import Array, Data, UNDESCRIBED
    mgmt = f"{q}/$management"
    reply = raw.request(mgmt, "com.microsoft:update-disposition",
                        {"disposition-status": "completed", "lock-tokens": Array(UNDESCRIBED, Data.UUID, t1)})
    assert reply.properties["statusCode"] == 200
    reply = raw.request(mgmt, "com.microsoft:update-disposition",
                        {"disposition-status": "suspended", "lock-tokens": Array(UNDESCRIBED, Data.UUID, t2),
                         "deadletter-reason": "why", "deadletter-description": "because"})
    assert reply.properties["statusCode"] == 200
    reply = raw.request(mgmt, "com.microsoft:update-disposition",
                        {"disposition-status": "completed", "lock-tokens": Array(UNDESCRIBED, Data.UUID, t1)})
    assert reply.properties["statusCode"] == 410
    [dl] = http("GET", f"/entities/{q}/$deadletterqueue/messages", 200)
    assert dl["body"] == "u2" and dl["application_properties"]["DeadLetterReason"] == "why"


def test_raw_attach_errors(fake):
    """Refused links (as Service Bus: attach with a null terminus, then detach with the error).
    azure-servicebus (pyamqp) waits forever on such a link, so this is checked raw."""
    q = entity()
    t = f"t-{uuid.uuid4().hex[:8]}"
    http("PUT", f"/entities/{t}/subscriptions/s", 201)
    cases = [(f"sb://{HOST}/{q}", None, "amqp:unauthorized-access"),  # no token yet
             (f"sb://{HOST}/{q}/$DeadLetterQueue", f"sb://{HOST}/other", "amqp:unauthorized-access"),
             (f"sb://{HOST}/missing-{q}", f"sb://{HOST}/", "amqp:not-found"),
             (f"sb://{HOST}/{t}/subscriptions/nope", f"sb://{HOST}/{t}", "amqp:not-found"),
             (f"sb://{HOST}/{t}", f"sb://{HOST}/{t}", "amqp:not-allowed"),  # receive from a topic
             (f"{q}/$management", None, None),  # as before: no token needed, attaches
             (f"sb://{HOST}/{t}/Subscriptions/S/$deadletterqueue", f"sb://{HOST}/{t}", None)]
    for address, audience, error in cases:
        raw = Raw()
        try:
            if audience:
                raw.put_token(audience)
            link = raw.conn.container.create_receiver(raw.conn.conn, address, options=RcvSecond())
            try:
                raw.wait(lambda: link.state & link.REMOTE_ACTIVE)
                raw.wait(lambda: link.state & link.REMOTE_CLOSED, timeout=0.5 if error is None else 10)
            except LinkDetached:
                pass
            except Timeout:
                assert error is None, address
            if error is None:
                assert link.state & link.REMOTE_ACTIVE and link.remote_source.address == address, address
            else:
                assert link.remote_condition.name == error, (address, link.remote_condition)
                assert link.remote_source.address is None  # the null source of the refusing attach
        finally:
            raw.close()


def test_start_options_and_delete(raw):
    assert http("GET", "/entities/pre-q", 200)["name"] == "pre-q"
    assert http("GET", "/entities/PRE-T", 200)["subscriptions"] == ["s1"]
    http("GET", "/entities/pre-t/subscriptions/s1", 200)
    http("PUT", "/entities/pre-t/subscriptions/s1?lock_seconds=0", 400)
    http("DELETE", "/entities/pre-t/subscriptions/s1", 200)
    http("DELETE", "/entities/pre-t/subscriptions/s1", 404)
    http("GET", "/entities/pre-t/subscriptions/s1/messages", 404)
    # deleting an entity detaches its receivers
    q = entity()
    raw.put_token(f"sb://{HOST}/{q}")
    link = raw.conn.container.create_receiver(raw.conn.conn, f"sb://{HOST}/{q}", options=RcvSecond())
    raw.wait(lambda: link.state & link.REMOTE_ACTIVE)
    http("DELETE", f"/entities/{q}", 200)
    with pytest.raises(LinkDetached):
        raw.wait(lambda: link.state & link.REMOTE_CLOSED)
    assert link.remote_condition.name == "amqp:not-found"


# ------------------------------------------------------------- management REST API (ATOM, as :5300)
ATOM = "{http://www.w3.org/2005/Atom}"
SBNS = "{http://schemas.microsoft.com/netservices/2010/10/servicebus/connect}"
ROOT_TOKEN = object()  # mgmt(): a token for the namespace root, http://host:5300/


def description(kind, **fields):
    """An ATOM entry as Service Bus clients PUT it."""
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return (f'<?xml version="1.0" encoding="utf-8"?><entry xmlns="http://www.w3.org/2005/Atom">'
            f'<content type="application/xml"><{kind} xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
            f'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">{inner}</{kind}>'
            f'</content></entry>')


def mgmt(method, path, body=None, token=ROOT_TOKEN, expect=None, **headers):
    """(status, parsed XML or None, text) of a management request with a SAS token."""
    if token is ROOT_TOKEN:
        token = sas(f"{MANAGEMENT}/")
    if token:
        headers["Authorization"] = token
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    if body is not None:
        headers["Content-Type"] = "application/atom+xml;type=entry;charset=utf-8"
    url = f"{MANAGEMENT}/{path}?api-version=2021-05"
    req = urllib.request.Request(url, data=None if body is None else body.encode(), method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if expect is not None:
        assert status == expect, (method, path, status, text)
    try:
        return status, ET.fromstring(text), text
    except ET.ParseError:
        return status, None, text


def described_fields(entry, kind):
    desc = entry.find(f"{ATOM}content/{SBNS}{kind}")
    assert desc is not None, ET.tostring(entry)
    return {child.tag.rsplit("}", 1)[-1]: child.text for child in desc}


def test_management_create_topic_conflict_update(fake):
    t = f"MT-{uuid.uuid4().hex[:8]}"
    _, entry, _ = mgmt("PUT", t, description("TopicDescription", DefaultMessageTimeToLive="P14D"), expect=201)
    assert entry.tag == f"{ATOM}entry" and entry.find(f"{ATOM}title").text == t
    assert described_fields(entry, "TopicDescription")["DefaultMessageTimeToLive"] == "P14D"
    status, err, text = mgmt("PUT", t, description("TopicDescription"), expect=409)
    assert err.tag == "Error" and "already exists" in text
    mgmt("PUT", t, description("TopicDescription"), expect=200, If_Match="*")
    _, entry, _ = mgmt("GET", t, expect=200)
    assert entry.find(f"{ATOM}title").text == t
    assert described_fields(entry, "TopicDescription")["SubscriptionCount"] == "0"
    assert http("GET", f"/entities/{t}", 200)["subscriptions"] == []
    mgmt("GET", f"missing-{t}", expect=404)
    mgmt("PUT", f"missing-{t}", description("TopicDescription"), expect=404, If_Match="*")  # update needs it


def test_management_subscription_settings_take_effect(client):
    t = f"mt-{uuid.uuid4().hex[:8]}"
    mgmt("PUT", t, description("TopicDescription"), expect=201)
    _, entry, _ = mgmt("PUT", f"{t}/Subscriptions/S", description(
        "SubscriptionDescription", LockDuration="PT7S", RequiresSession="false",
        DefaultMessageTimeToLive="P10675199DT2H48M5.4775807S", DeadLetteringOnMessageExpiration="true",
        MaxDeliveryCount=4, EnableBatchedOperations="true"), expect=201)
    assert entry.find(f"{ATOM}title").text == "S"
    f = described_fields(entry, "SubscriptionDescription")
    assert (f["LockDuration"], f["MaxDeliveryCount"], f["RequiresSession"]) == ("PT7S", "4", "false")
    assert f["DeadLetteringOnMessageExpiration"] == "true"
    mgmt("PUT", f"{t}/subscriptions/s", description("SubscriptionDescription"), expect=409)
    _, entry, _ = mgmt("GET", f"{t}/subscriptions/s", expect=200)
    f = described_fields(entry, "SubscriptionDescription")
    assert (f["LockDuration"], f["MaxDeliveryCount"], f["MessageCount"]) == ("PT7S", "4", "0")
    counts = http("GET", f"/entities/{t}/subscriptions/s", 200)
    assert (counts["lock_seconds"], counts["max_delivery_count"]) == (7, 4)
    # in effect on AMQP: a 7 s lock, dead-lettered after 4 deliveries
    with client.get_topic_sender(t) as s:
        s.send_messages(ServiceBusMessage("m"))
    with client.get_subscription_receiver(t, "s") as r:
        for count in range(4):
            [m] = r.receive_messages(max_wait_time=5)
            left = (m.locked_until_utc - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
            assert 5 < left <= 7.5 and m.delivery_count == count
            r.abandon_message(m)
        assert r.receive_messages(max_wait_time=1) == []
    assert http("GET", f"/entities/{t}/subscriptions/s", 200)["dead_lettered"] == 1
    # If-Match: * updates it
    _, entry, _ = mgmt("PUT", f"{t}/subscriptions/s", description(
        "SubscriptionDescription", LockDuration="PT1M30S", MaxDeliveryCount=2), expect=200, If_Match="*")
    f = described_fields(entry, "SubscriptionDescription")
    assert (f["LockDuration"], f["MaxDeliveryCount"]) == ("PT1M30S", "2")
    counts = http("GET", f"/entities/{t}/subscriptions/s", 200)
    assert (counts["lock_seconds"], counts["max_delivery_count"]) == (90, 2)


def test_management_authorization(fake):
    t = f"ma-{uuid.uuid4().hex[:8]}"
    body = description("TopicDescription")
    status, err, text = mgmt("PUT", t, body, token=None, expect=401)
    assert err.tag == "Error" and "MissingToken" in text
    assert "InvalidSignature" in mgmt("PUT", t, body, token=sas(f"{MANAGEMENT}/", key="wrong"), expect=401)[2]
    assert "ExpiredToken" in mgmt("PUT", t, body, token=sas(f"{MANAGEMENT}/", ttl=-10), expect=401)[2]
    assert "InvalidAudience" in mgmt("PUT", t, body, token=sas("http://elsewhere:5300/"), expect=401)[2]
    assert "InvalidAudience" in mgmt("PUT", t, body, token=sas(f"{MANAGEMENT}/other"), expect=401)[2]
    mgmt("PUT", t, body, token="Bearer x", expect=401)
    mgmt("GET", t, token=None, expect=401)
    http("GET", f"/entities/{t}", 404)  # nothing was created
    # any scheme on this host; a token for the topic covers its subscriptions
    mgmt("PUT", t, body, token=sas(f"https://{HOST}/{t.upper()}"), expect=201)
    sub = description("SubscriptionDescription")
    mgmt("PUT", f"{t}/subscriptions/s", sub, token=sas(f"sb://{HOST}/{t}"), expect=201)
    mgmt("GET", f"{t}/subscriptions/s", token=sas(f"{MANAGEMENT}/{t}/subscriptions/s"), expect=200)
    mgmt("GET", f"{t}/subscriptions/s", token=sas(f"{MANAGEMENT}/{t}/subscriptions/other"), expect=401)


def test_management_errors(fake):
    t = f"me-{uuid.uuid4().hex[:8]}"
    sub = description("SubscriptionDescription", LockDuration="PT30S")
    mgmt("PUT", f"{t}/subscriptions/s", sub, expect=404)  # no such topic
    http("GET", f"/entities/{t}", 404)  # not created on the way
    mgmt("PUT", t, description("TopicDescription"), expect=201)
    status, _, text = mgmt("PUT", f"{t}/subscriptions/s", description("SubscriptionDescription",
                                                                       RequiresSession="true"), expect=400)
    assert "RequiresSession" in text
    assert "malformed XML" in mgmt("PUT", f"{t}/subscriptions/s", "<entry><content>", expect=400)[2]
    assert "SubscriptionDescription" in mgmt("PUT", f"{t}/subscriptions/s", description("QueueDescription"),
                                             expect=400)[2]
    for bad in [dict(LockDuration="PT2S"), dict(LockDuration="PT6M"), dict(LockDuration="60"),
                dict(MaxDeliveryCount="0"), dict(MaxDeliveryCount="x"), dict(DeadLetteringOnMessageExpiration="y")]:
        mgmt("PUT", f"{t}/subscriptions/s", description("SubscriptionDescription", **bad), expect=400)
    mgmt("GET", f"{t}/subscriptions/s", expect=404)  # none of those created it
    mgmt("GET", f"{t}/subscriptions/s/$deadletterqueue", expect=404)
    _, entry, _ = mgmt("PUT", f"{t}/subscriptions/s", sub, expect=201)  # absent fields: Service Bus defaults
    f = described_fields(entry, "SubscriptionDescription")
    assert (f["LockDuration"], f["MaxDeliveryCount"], f["RequiresSession"]) == ("PT30S", "10", "false")
    assert f["DefaultMessageTimeToLive"] == "P10675199DT2H48M5.4775807S"


def test_management_with_the_azure_administration_client(fake):
    """azure-servicebus's ServiceBusAdministrationClient (its ATOM serialisation and parsing, its
    SAS token for https://host:5300) against the fake; it always dials https, so plain http here."""
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
    from azure.servicebus.management import ServiceBusAdministrationClient

    class PlainHttp(RequestsTransport):
        def send(self, request, **kw):
            request.url = request.url.replace("https://", "http://", 1)
            return super().send(request, **kw)

    t = f"Admin-{uuid.uuid4().hex[:8]}"
    conn = (f"Endpoint=sb://{HOST}:5300;SharedAccessKeyName={KEY_NAME};SharedAccessKey={KEY};"
            "UseDevelopmentEmulator=true")
    with ServiceBusAdministrationClient.from_connection_string(conn, transport=PlainHttp()) as admin:
        assert admin.create_topic(t).name == t
        with pytest.raises(ResourceExistsError):
            admin.create_topic(t)
        s = admin.create_subscription(t, "s", lock_duration=datetime.timedelta(seconds=7), max_delivery_count=4)
        assert (s.name, s.lock_duration, s.max_delivery_count, s.requires_session) == \
            ("s", datetime.timedelta(seconds=7), 4, False)
        s = admin.get_subscription(t, "s")
        s.lock_duration, s.max_delivery_count = datetime.timedelta(minutes=2), 3
        admin.update_subscription(t, s)
        s = admin.get_subscription(t, "s")
        assert (s.lock_duration, s.max_delivery_count) == (datetime.timedelta(minutes=2), 3)
        assert admin.get_topic(t).name == t
        with pytest.raises(ResourceNotFoundError):
            admin.get_subscription(t, "nope")
        with pytest.raises(ResourceNotFoundError):
            admin.create_subscription(f"missing-{t}", "s")
    counts = http("GET", f"/entities/{t}/subscriptions/s", 200)
    assert (counts["lock_seconds"], counts["max_delivery_count"]) == (120, 3)

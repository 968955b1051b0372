#!/usr/bin/env python3
"""Test-only Azure Service Bus namespace for outpost-rs: senders and receivers.

AMQP 1.0 side (python-qpid-proton), what Service Bus clients (azservicebus, azure-servicebus) touch:
  * plain AMQP with SASL ANONYMOUS, as the official emulator with UseDevelopmentEmulator=true
    (Service Bus clients always dial port 5672 there, so bind a spare loopback address);
  * the claims-based-security node "$cbs": put-token requests carry a SharedAccessSignature that
    is checked like Service Bus does (known key name, HMAC-SHA256 of "<sr>\\n<se>" with the key,
    not expired, audience on this namespace's host) and answered 202, or 401 with the reason.
    An accepted token covers its audience's path and everything under it ("q" covers
    "q/$DeadLetterQueue" and "q/$management", a topic its subscriptions);
  * nodes: "<queue>", "<topic>", "<topic>/Subscriptions/<sub>", a queue's or subscription's
    "/$DeadLetterQueue", and "<node>/$management" (case-insensitive, bare or as sb://host/...).
    Links to a missing node are refused with amqp:not-found; entity links (not $management)
    need a token covering them (else amqp:unauthorized-access);
  * sender links (the peer sends) to a queue or topic: transfers are accepted and stored (batches,
    message-format 0x80013700, split); each message gets the entity's next sequence number. A
    topic with subscriptions copies each message to every subscription; one without keeps it;
  * receiver links (the peer receives) from a queue, subscription or dead-letter queue, within
    the link credit (drain honoured). Sender-settle-mode "settled" is receive-and-delete, else
    peek-lock: the message is locked for the entity's lock duration. Each transfer carries, as
    Service Bus does: the delivery tag = the lock token's 16 bytes in .NET Guid order (what
    azure-servicebus and the other Microsoft SDKs read), delivery annotation x-opt-lock-token
    (the uuid; azservicebus reads it first, then falls back to the tag's raw bytes), message
    annotations x-opt-sequence-number (long), x-opt-enqueued-time and, when locked,
    x-opt-locked-until (timestamps), header delivery-count = earlier failed deliveries (0 on the
    first; the SDKs report it + 1), and the sent properties, application properties and body as sent;
  * outcomes of a peek-locked delivery: accepted completes (removes); modified abandons (available
    again at once, delivery count + 1, its message-annotations merged into the application
    properties, as propertiesToModify); released returns it without counting a delivery (as
    Service Bus); rejected dead-letters it (error info DeadLetterReason, DeadLetterErrorDescription
    and any other fields become application properties). A message whose delivery count reaches
    max_delivery_count goes to the dead-letter queue (DeadLetterReason MaxDeliveryCountExceeded).
    An outcome for a lost lock (expired, or the message was settled otherwise) is answered with
    rejected com.microsoft:message-lock-lost. Modified with undeliverable-here (= defer) is not
    implemented (rejected amqp:not-implemented, the lock stays);
  * locks expire lock_seconds after delivery unless renewed (a timer in the reactor requeues them
    with delivery count + 1). A closed receiver link or connection leaves its locks in place;
  * "<node>/$management": com.microsoft:renew-lock ({"lock-tokens": uuid[]} -> 200
    {"expirations": timestamp[]}) and com.microsoft:update-disposition ("disposition-status"
    completed / abandoned / suspended, "lock-tokens", "deadletter-reason",
    "deadletter-description", "properties-to-modify"); a lost lock fails either with 410 and
    errorCondition com.microsoft:message-lock-lost. Other operations are answered 200 as before.

HTTP control side (for the tests; Service Bus itself manages entities through ARM). Optional query
?lock_seconds=N&max_delivery_count=M on the PUTs (defaults 60 and 10, as Service Bus):
  PUT    /entities/<name>                          create a queue or topic (201; 200 if it exists)
  PUT    /entities/<topic>/subscriptions/<sub>     create a subscription (and the topic if missing)
  DELETE /entities/<name>[/subscriptions/<sub>]    delete it with its messages
  GET    /entities/<node>/messages                 JSON list of the node's available (not locked)
                                                   messages, drained; <node> is <name>,
                                                   <topic>/subscriptions/<sub>, either + /$deadletterqueue:
      {"body", "body_base64", "message_id", "content_type", "application_properties",
       "sequence_number", "delivery_count"}
  GET    /entities/<node>                          counts: {"name", "active", "locked", "dead_lettered",
                                                   "subscriptions"}, for a subscription also
                                                   "lock_seconds" and "max_delivery_count"
  GET    /health                                   200 {"status", "sha256" of this file}

HTTP management side (--management, default <listen host>:5300 as the official emulator): the part
of Service Bus's ATOM management REST API that creates topics and subscriptions (api-version is
ignored). Each request needs "Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=.." checked
as on $cbs, its sr (http://, https:// or sb://) on the Host header's host and covering the path
(the namespace root covers all), else 401. Errors are <Error><Code/><Detail/></Error>.
  PUT /<topic>                     ATOM entry with a TopicDescription -> 201 + the entry;
  PUT /<topic>/subscriptions/<sub> ... a SubscriptionDescription: LockDuration (ISO-8601, PT5S..PT5M),
                                   MaxDeliveryCount, DefaultMessageTimeToLive and
                                   DeadLetteringOnMessageExpiration (kept, echoed, not enforced),
                                   RequiresSession (true -> 400); other elements ignored.
                                   Exists -> 409, unless If-Match (*): update, 200. Missing topic -> 404
  GET /<topic>[/subscriptions/<sub>]  200 + the ATOM entry (title = name), 404 if missing

Not implemented: sessions, deferral and receive-by-sequence-number, peek, subscription
rules/filters, scheduled messages, duplicate detection, message TTL, transactions.
"""
import argparse
import base64
import bisect
import datetime
import hashlib
import hmac
import json
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from proton import (UNDESCRIBED, Array, Condition, Data, Delivery, Described, Endpoint, Link, Message,
                    Terminus, symbol, timestamp, uint, ulong)
from proton.handlers import IncomingMessageHandler, MessagingHandler, OutgoingMessageHandler
from proton.reactor import Container

# What stand-ins.sh compares before reusing a running fake.
with open(__file__, "rb") as _self:
    SELF_SHA256 = hashlib.sha256(_self.read()).hexdigest()

LOCK_LOST = "com.microsoft:message-lock-lost"
LOCK_LOST_TEXT = ("The lock supplied is invalid. Either the lock expired, or the message has already "
                  "been removed from the queue.")
TICK_SECONDS = 0.2  # lock-expiry timer period
TERMINAL = (Delivery.ACCEPTED, Delivery.REJECTED, Delivery.RELEASED, Delivery.MODIFIED)


# ---------------------------------------------------------------------------------------- addresses
def entity_of(address):
    """'amqp://host/Name' or 'Name' -> 'name' (entity names are case-insensitive)."""
    if not address:
        return ""
    if "://" in address:
        rest = address.split("://", 1)[1]
        address = rest.split("/", 1)[1] if "/" in rest else ""
    return address.strip("/").lower()


def host_of(resource):
    """The host of a token audience such as 'amqp://127.0.0.2/queue' or 'sb://ns.host/'."""
    if "://" in resource:
        resource = resource.split("://", 1)[1]
    return resource.split("/", 1)[0].split(":", 1)[0].lower()


class Node:
    """A parsed node address: entity, subscription (or None), dead-letter queue?, $management?"""

    def __init__(self, entity, sub=None, dlq=False, mgmt=False):
        self.entity, self.sub, self.dlq, self.mgmt = entity, sub, dlq, mgmt

    @staticmethod
    def parse(address):
        """Node of 'sb://host/T/Subscriptions/S/$DeadLetterQueue/$management' and shorter forms,
        None if the address names no node."""
        parts = entity_of(address).split("/")
        mgmt = parts[-1] == "$management"
        if mgmt:
            parts.pop()
        dlq = bool(parts) and parts[-1] == "$deadletterqueue"
        if dlq:
            parts.pop()
        if len(parts) == 3 and parts[1] == "subscriptions" and parts[0] and parts[2]:
            return Node(parts[0], parts[2], dlq, mgmt)
        if len(parts) == 1 and parts[0] and not parts[0].startswith("$"):
            return Node(parts[0], None, dlq, mgmt)
        return None

    def path(self):
        p = self.entity + (f"/subscriptions/{self.sub}" if self.sub else "")
        return p + ("/$deadletterqueue" if self.dlq else "") + ("/$management" if self.mgmt else "")


# ----------------------------------------------------------------------------------------- messages
def described(code, value):
    d = Data()
    d.put_object(Described(ulong(code), value))
    return bytes(d.encode())


def owned(v):
    """A decoded value with its memoryviews copied (they die with their Data)."""
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, dict):
        return {owned(k): owned(x) for k, x in v.items()}
    if isinstance(v, list):
        return [owned(x) for x in v]
    return v


def sections(raw):
    """(descriptor, value, encoded bytes) of each section of an encoded message."""
    out, off = [], 0
    while off < len(raw):
        d = Data()
        n = d.decode(raw[off:])
        if n <= 0:
            break
        d.rewind()
        d.next()
        obj = d.get_object()
        if isinstance(obj, Described):
            out.append((obj.descriptor, owned(obj.value), bytes(raw[off:off + n])))
        else:
            out.append((None, None, bytes(raw[off:off + n])))
        off += n
    return out


def split_batch(raw):
    """The encoded messages of one transfer. A batch (message-format 0x80013700, which proton's
    Python API does not expose) carries one encoded message per data section, so a transfer whose
    data sections all hold encoded messages is taken as a batch."""
    datas = [v for code, v, _ in sections(raw) if code == 0x75]
    if datas and all(len(b) > 2 and b[:2] == b"\x00\x53" and 0x70 <= b[2] <= 0x78 for b in datas):
        return datas
    return [raw]


class Msg:
    """One stored message: the sections as sent plus what the broker tracks about it."""

    def __init__(self, raw):
        self.header, self.annotations, self.app = None, {}, None
        self.props_raw, self.app_raw, self.body_raw = b"", b"", b""
        for code, value, enc in sections(raw):
            if code == 0x70:
                self.header = list(value or [])
            elif code == 0x72:
                self.annotations = dict(value or {})
            elif code == 0x73:
                self.props_raw = enc
            elif code == 0x74:
                self.app, self.app_raw = dict(value or {}), enc
            elif code != 0x71:  # delivery annotations are hop-by-hop; body and footer as sent
                self.body_raw += enc
        self.seq, self.enqueued_ms, self.delivery_count = 0, 0, 0
        self.lock_token, self.locked_until = None, 0.0

    def copy(self):
        m = Msg.__new__(Msg)
        m.__dict__.update(self.__dict__)
        m.annotations = dict(self.annotations)
        m.app = None if self.app is None else dict(self.app)
        return m

    def modify(self, props):
        """Sets application properties (abandon/dead-letter propertiesToModify, reasons)."""
        props = {str(k): v for k, v in (props or {}).items() if v is not None}
        if props:
            self.app = dict(self.app or {})
            self.app.update(props)
            self.app_raw = described(0x74, self.app)

    def encode(self, token=None, locked_until=None):
        """The message as delivered: header with the delivery count, Service Bus annotations."""
        header = (list(self.header or []) + [None] * 5)[:5]
        header[4] = uint(self.delivery_count)
        ann = dict(self.annotations)
        ann[symbol("x-opt-sequence-number")] = int(self.seq)
        ann[symbol("x-opt-enqueued-time")] = timestamp(self.enqueued_ms)
        if locked_until is not None:
            ann[symbol("x-opt-locked-until")] = timestamp(int(locked_until * 1000))
        out = described(0x70, header)
        if token is not None:
            out += described(0x71, {symbol("x-opt-lock-token"): token})
        return out + described(0x72, ann) + self.props_raw + self.app_raw + self.body_raw

    def stored(self):
        """The JSON view of the control API."""
        m = Message()
        m.decode(self.encode())
        raw = body_bytes(m)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body = None
        return {
            "body": body,
            "body_base64": base64.b64encode(raw).decode(),
            "message_id": None if m.id is None else str(m.id),
            "content_type": None if m.content_type is None else str(m.content_type),
            "application_properties": {str(k): v for k, v in (m.properties or {}).items()},
            "sequence_number": self.seq,
            "delivery_count": self.delivery_count,
        }


def body_bytes(msg):
    body = msg.body
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, list):  # several data sections
        return b"".join(bytes(b) for b in body)
    if body is None:
        return b""
    return str(body).encode()


# ------------------------------------------------------------------------------------ entity state
class Queue:
    """A queue, topic, subscription or dead-letter queue: its available messages (by sequence
    number) and its peek-locked ones. A topic is a queue with subscriptions; a dead-letter queue
    has none of its own and never dead-letters."""

    def __init__(self, path, lock_seconds=60.0, max_delivery_count=10, dead_letter=True):
        self.path, self.lock_seconds, self.max_delivery_count = path, lock_seconds, max_delivery_count
        self.ready, self.locked = [], {}  # [Msg], {lock token: Msg}
        self.dlq = Queue(path + "/$deadletterqueue", lock_seconds, None, False) if dead_letter else None
        self.subscriptions = {}
        self.next_seq, self.deleted = 1, False
        self.created = self.updated = time.time()  # for the management API's descriptions
        self.description = {}  # its accepted, otherwise ignored description fields (as sent, normalised)

    def configure(self, lock_seconds=None, max_delivery_count=None):
        if lock_seconds is not None:
            self.lock_seconds = lock_seconds
            if self.dlq:
                self.dlq.lock_seconds = lock_seconds
        if max_delivery_count is not None:
            self.max_delivery_count = max_delivery_count

    def queues(self):
        """This node and all below it (subscriptions, dead-letter queues)."""
        yield self
        if self.dlq:
            yield self.dlq
        for s in self.subscriptions.values():
            yield from s.queues()

    def enqueue(self, template, now):
        """Stores a sent message: on every subscription if there are any, else here."""
        msg = template.copy()
        msg.seq, msg.enqueued_ms = self.next_seq, int(now * 1000)
        self.next_seq += 1
        for sub in self.subscriptions.values() or [self]:
            sub.put(msg.copy())

    def put(self, msg):
        bisect.insort(self.ready, msg, key=lambda m: m.seq)

    def take(self, now, lock):
        """The next available message, locked for lock_seconds when `lock`."""
        if not self.ready:
            return None
        msg = self.ready.pop(0)
        if lock:
            msg.lock_token, msg.locked_until = uuid.uuid4(), now + self.lock_seconds
            self.locked[msg.lock_token] = msg
        return msg

    def holder(self, token, now):
        """The message whose lock `token` still holds, else None."""
        self.expire(now)
        return self.locked.get(token)

    def expire(self, now):
        for token, msg in list(self.locked.items()):
            if msg.locked_until <= now:
                self.unlock(token, "abandon")

    def unlock(self, token, how, props=None):
        """Ends a lock: complete | release (no delivery counted) | abandon | dead-letter."""
        msg = self.locked.pop(token)
        msg.lock_token = None
        if how == "complete":
            return
        msg.modify(props)
        if how == "abandon":
            msg.delivery_count += 1
            limit = self.max_delivery_count
            if limit is not None and msg.delivery_count >= limit:
                how = "dead-letter"
                msg.modify({"DeadLetterReason": "MaxDeliveryCountExceeded",
                            "DeadLetterErrorDescription":
                                f"Message could not be consumed after {limit} delivery attempts."})
        if how == "dead-letter" and self.dlq is not None:
            self.dlq.put(msg)
        else:
            self.put(msg)

    def drain(self):
        out, self.ready = self.ready, []
        return out


class Namespace:
    """Entities and their messages, shared by the AMQP and HTTP sides (under `lock`)."""

    def __init__(self, keys):
        self.keys = keys
        self.lock = threading.Lock()
        self.entities = {}

    def find(self, node):
        q = self.entities.get(node.entity)
        if q is not None and node.sub:
            q = q.subscriptions.get(node.sub)
        if q is not None and node.dlq:
            q = q.dlq
        return q

    def create(self, name, sub=None, **settings):
        """(queue, created) for entity `name` or its subscription `sub` (creating the topic)."""
        created = name not in self.entities
        entity = self.entities.setdefault(name, Queue(name))
        if sub is None:
            entity.configure(**settings)
            return entity, created
        created = sub not in entity.subscriptions
        q = entity.subscriptions.setdefault(sub, Queue(f"{name}/subscriptions/{sub}"))
        q.configure(**settings)
        return q, created

    def all_queues(self):
        for e in self.entities.values():
            yield from e.queues()

    def check_token(self, token, hostname):
        """(202, audience) for a valid SharedAccessSignature, else (401, reason)."""
        prefix = "SharedAccessSignature "
        if not isinstance(token, str) or not token.startswith(prefix):
            return 401, "the token is not a SharedAccessSignature"
        fields = {}
        for part in token[len(prefix):].split("&"):
            k, _, v = part.partition("=")
            fields[k.strip()] = v.strip()
        missing = [k for k in ("sr", "sig", "se", "skn") if not fields.get(k)]
        if missing:
            return 401, "the token lacks " + ", ".join(missing)
        skn = urllib.parse.unquote(fields["skn"])
        key = self.keys.get(skn)
        if key is None:
            return 401, f"unknown shared access key name {skn!r}"
        to_sign = f"{fields['sr']}\n{urllib.parse.unquote(fields['se'])}".encode()
        want = base64.b64encode(hmac.new(key.encode(), to_sign, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, urllib.parse.unquote(fields["sig"])):
            return 401, "InvalidSignature: the token signature does not match the shared access key"
        try:
            expiry = int(urllib.parse.unquote(fields["se"]))
        except ValueError:
            return 401, "the token expiry is not a number"
        if expiry < time.time():
            return 401, "ExpiredToken: the token has expired"
        audience = urllib.parse.unquote(fields["sr"])
        if hostname and host_of(audience) != hostname.lower():
            return 401, f"InvalidAudience: {audience!r} is not on namespace {hostname!r}"
        return 202, audience


# ------------------------------------------------------------------------------------- AMQP broker
def uuid_of(value):
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def tokens_of(body):
    tokens = (body or {}).get("lock-tokens") or []
    return [uuid_of(t) for t in (tokens.elements if isinstance(tokens, Array) else tokens)]


class Broker(MessagingHandler):
    def __init__(self, url, ns, verbose):
        super().__init__(prefetch=100, auto_accept=False)
        # transfers are decoded (batches split) and dispositions settled here, not by proton's handlers
        self.handlers = [h for h in self.handlers
                         if not isinstance(h, (IncomingMessageHandler, OutgoingMessageHandler))]
        self.url = url
        self.ns = ns
        self.verbose = verbose
        self.reply_links = {}  # (connection, address) -> sender link of $cbs/$management replies
        self.tokens = {}  # connection -> accepted audiences
        self.consumers = {}  # sender link (the peer receives) -> (Queue, peek-lock?)

    def log(self, *a):
        if self.verbose:
            print(f"[sb-fake {time.time():.3f}]", *a, file=sys.stderr, flush=True)

    def warn(self, *a):
        print("[sb-fake] warning:", *a, file=sys.stderr, flush=True)

    def on_start(self, event):
        event.container.allowed_mechs = "ANONYMOUS"
        event.container.allow_insecure_mechs = True
        event.container.listen(self.url)
        event.container.schedule(TICK_SECONDS, Ticker(self))
        print(f"[sb-fake] AMQP listening on {self.url}", flush=True)

    # -- links
    def authorized(self, conn, path):
        host = (conn.remote_hostname or "").lower()
        for audience in self.tokens.get(conn, ()):
            a = audience.lower()
            scope = a.split("://", 1)[1] if "://" in a else a
            granted = scope.split("/", 1)[1].strip("/") if "/" in scope else ""
            if host_of(a) == host and (granted in ("", path) or path.startswith(granted + "/")):
                return True
        return False

    def on_link_remote_open(self, event):
        """Runs before proton's EndpointStateHandler, which would re-open a refused link."""
        link = event.link
        if not link.state & Endpoint.LOCAL_UNINIT:
            return
        self.open_link(link)
        if link.state & Endpoint.LOCAL_UNINIT:
            link.open()

    def open_link(self, link):
        link.snd_settle_mode = link.remote_snd_settle_mode
        link.rcv_settle_mode = link.remote_rcv_settle_mode
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        if link.is_sender:  # the peer receives: $cbs / $management replies, or messages
            src, tgt = link.remote_source.address or "", link.remote_target.address
            node = Node.parse(src)
            if src == "$cbs" or (node and node.mgmt):
                if src == "$cbs" or self.lookup(link, node):
                    self.reply_links[(link.connection, tgt)] = link
                    self.reply_links[(link.connection, src)] = link
            else:
                self.attach_consumer(link, src, node)
            return
        target = link.remote_target.address or ""
        node = Node.parse(target)
        if target == "$cbs":
            return
        if node and node.mgmt:
            self.lookup(link, node)
            return
        if node is None or node.sub or node.dlq:
            return self.refuse(link, "amqp:not-allowed", f"Cannot send to '{target}'.")
        if self.lookup(link, node) is None:
            return
        if not self.authorized(link.connection, node.path()):
            self.refuse(link, "amqp:unauthorized-access",
                        f"Unauthorized access. 'Send' claim(s) are required to perform this operation on '{node.entity}'.")
        else:
            self.log("sender attached to", node.entity)

    def attach_consumer(self, link, src, node):
        if node is None:
            return self.refuse(link, "amqp:not-found", f"The messaging entity '{src}' could not be found.")
        queue = self.lookup(link, node)
        if queue is None:
            return
        if queue.subscriptions and not node.sub and not node.dlq:
            return self.refuse(link, "amqp:not-allowed", f"Cannot receive from topic '{node.entity}'.")
        if not self.authorized(link.connection, node.path()):
            return self.refuse(link, "amqp:unauthorized-access",
                               f"Unauthorized access. 'Listen' claim(s) are required to perform this operation on '{node.path()}'.")
        peek_lock = link.remote_snd_settle_mode != Link.SND_SETTLED
        self.consumers[link] = (queue, peek_lock)
        self.log("receiver attached to", node.path(), "peek-lock" if peek_lock else "receive-and-delete")

    def lookup(self, link, node):
        """The queue of `node`; refuses the link (amqp:not-found) when there is none."""
        with self.ns.lock:
            queue = self.ns.find(node)
        if queue is None:
            host = link.connection.remote_hostname or "namespace"
            self.refuse(link, "amqp:not-found",
                        f"The messaging entity 'sb://{host}/{node.path()}' could not be found.")
        return queue

    def refuse(self, link, name, description):
        self.log("refusing link:", name, description)
        # As Service Bus: attach with a null terminus, then detach with the error.
        if link.is_receiver:
            link.target.type = Terminus.UNSPECIFIED
        else:
            link.source.type = Terminus.UNSPECIFIED
        link.open()
        link.condition = Condition(name, description)
        link.close()

    def on_link_remote_close(self, event):
        self.forget(lambda link: link == event.link)

    def on_connection_remote_close(self, event):
        self.tokens.pop(event.connection, None)

    def on_disconnected(self, event):
        self.tokens.pop(event.connection, None)
        self.forget(lambda link: link.connection == event.connection)

    def forget(self, which):
        """Drops links; messages locked through them stay locked until their locks expire."""
        for k in [k for k, v in self.reply_links.items() if which(v)]:
            del self.reply_links[k]
        for link in [k for k in self.consumers if which(k)]:
            del self.consumers[link]

    # -- message flow to receivers
    def on_link_flow(self, event):
        if event.link in self.consumers:
            self.pump(event.link)

    def pump(self, link):
        """Sends available messages within the link credit; honours drain."""
        queue, peek_lock = self.consumers[link]
        if queue.deleted:
            del self.consumers[link]
            link.condition = Condition("amqp:not-found", f"The messaging entity '{queue.path}' was deleted.")
            link.close()
            return
        if not (link.state & Endpoint.LOCAL_ACTIVE and link.state & Endpoint.REMOTE_ACTIVE):
            return
        sent = 0
        with self.ns.lock:
            now = time.time()
            while link.credit > 0:
                msg = queue.take(now, peek_lock)
                if msg is None:
                    break
                token = msg.lock_token or uuid.uuid4()
                dlv = link.delivery(token.bytes_le)  # Service Bus: the lock token in .NET Guid byte order
                link.stream(msg.encode(token, msg.locked_until if peek_lock else None))
                link.advance()
                sent += 1
                if peek_lock:
                    dlv.sb_lock = (queue, token)
                else:
                    dlv.settle()
        if link.drain_mode:
            link.drained()
        if sent:
            self.log("delivered", sent, "message(s) from", queue.path)

    def pump_all(self):
        for link in list(self.consumers):
            if link in self.consumers:
                self.pump(link)

    def tick(self):
        with self.ns.lock:
            now = time.time()
            for q in self.ns.all_queues():
                q.expire(now)
        self.pump_all()

    # -- deliveries: transfers from senders, outcomes from receivers
    def on_delivery(self, event):
        dlv = event.delivery
        link = dlv.link
        if link.is_sender:
            return self.on_outcome(dlv)
        if not dlv.readable or dlv.partial:
            return
        raw = link.recv(dlv.pending)
        link.advance()
        target = link.target.address or ""
        node = Node.parse(target)
        if target == "$cbs" or (node and node.mgmt):
            m = Message()
            m.decode(raw)
            if target == "$cbs":
                self.put_token(link, m)
            else:
                self.manage(link, node, m)
            dlv.update(Delivery.ACCEPTED)
        else:
            msgs = [Msg(b) for b in split_batch(raw)]
            with self.ns.lock:
                queue = self.ns.entities.get(node.entity) if node else None
                now = time.time()
                for m in msgs if queue is not None else ():
                    queue.enqueue(m, now)
            if queue is None:
                dlv.local.condition = Condition("amqp:not-found", f"entity {target!r} was deleted")
                dlv.update(Delivery.REJECTED)
            else:
                self.log("stored", len(msgs), "message(s) for", node.entity)
                dlv.update(Delivery.ACCEPTED)
        dlv.settle()
        self.pump_all()

    def on_outcome(self, dlv):
        """A receiver's disposition of a delivery we sent."""
        lock = getattr(dlv, "sb_lock", None)
        state = dlv.remote_state
        if lock is None:  # a $cbs/$management reply (or already handled)
            if dlv.settled or state in TERMINAL:
                dlv.settle()
            return
        if state not in TERMINAL:
            if not dlv.settled:
                return
            state = Delivery.RELEASED  # settled without an outcome
        dlv.sb_lock = None
        queue, token = lock
        remote = dlv.remote
        if state == Delivery.ACCEPTED:
            how, props = "complete", None
        elif state == Delivery.RELEASED:
            how, props = "release", None
        elif state == Delivery.MODIFIED:
            how, props = ("defer" if remote.undeliverable else "abandon"), remote.annotations
        else:
            how, props = "dead-letter", (remote.condition.info if remote.condition else None)
        error = self.settle_lock(queue, [token], how, props)
        if error:
            self.log("outcome", how, "refused:", error.name)
            dlv.local.condition = error
            dlv.update(Delivery.REJECTED)
        else:
            dlv.update(state)
        dlv.settle()
        self.pump_all()

    def settle_lock(self, queue, tokens, how, props=None):
        """Applies `how` to the messages locked by `tokens` (all or none); a Condition on failure."""
        if how == "defer":
            self.warn("message deferral is not implemented; the message stays locked")
            return Condition("amqp:not-implemented", "sb_fake does not implement message deferral")
        with self.ns.lock:
            now = time.time()
            if any(queue.holder(t, now) is None for t in tokens):
                return Condition(LOCK_LOST, LOCK_LOST_TEXT)
            for t in tokens:
                queue.unlock(t, how, props)
        self.log(how, len(tokens), "message(s) on", queue.path)
        return None

    # -- $cbs and $management
    def put_token(self, link, msg):
        props = msg.properties or {}
        status, detail = 400, "unsupported $cbs operation"
        if props.get("operation") == "put-token":
            status, detail = self.ns.check_token(msg.body, link.connection.remote_hostname)
            if status == 202:
                self.tokens.setdefault(link.connection, []).append(detail)
                detail = "Accepted"
        self.log("put-token", props.get("name"), "->", status, detail)
        self.answer(link, msg, status, detail, None)

    def manage(self, link, node, msg):
        op = (msg.properties or {}).get("operation")
        node = Node(node.entity, node.sub, node.dlq)
        with self.ns.lock:
            queue = self.ns.find(node)
        if op not in ("com.microsoft:renew-lock", "com.microsoft:update-disposition"):
            return self.answer(link, msg, 200, "OK", {})
        if queue is None:
            return self.answer(link, msg, 404, f"The messaging entity '{node.path()}' could not be found.",
                               None, "amqp:not-found")
        body = msg.body if isinstance(msg.body, dict) else {}
        try:
            tokens = tokens_of(body)
        except (TypeError, ValueError) as e:
            return self.answer(link, msg, 400, f"bad lock-tokens: {e}", None, "amqp:invalid-field")
        if op == "com.microsoft:renew-lock":
            with self.ns.lock:
                now = time.time()
                held = [queue.holder(t, now) for t in tokens]
                if None not in held:
                    for m in held:
                        m.locked_until = now + queue.lock_seconds
            if None in held:
                return self.answer(link, msg, 410, LOCK_LOST_TEXT, None, LOCK_LOST)
            self.log("renewed", len(held), "lock(s) on", queue.path)
            exps = [timestamp(int(m.locked_until * 1000)) for m in held]
            return self.answer(link, msg, 200, "OK", {"expirations": Array(UNDESCRIBED, Data.TIMESTAMP, *exps)})
        status = body.get("disposition-status")
        how = {"completed": "complete", "abandoned": "abandon", "suspended": "dead-letter",
               "defered": "defer"}.get(status)
        if how is None:
            return self.answer(link, msg, 400, f"unsupported disposition-status {status!r}", None,
                               "amqp:invalid-field")
        props = dict(body.get("properties-to-modify") or {})
        if how == "dead-letter":
            props.update({"DeadLetterReason": body.get("deadletter-reason"),
                          "DeadLetterErrorDescription": body.get("deadletter-description")})
        error = self.settle_lock(queue, tokens, how, props)
        if error is None:
            self.pump_all()
            return self.answer(link, msg, 200, "OK", None)
        code = 410 if error.name == LOCK_LOST else 501
        return self.answer(link, msg, code, error.description, None, error.name)

    def answer(self, link, request, status, description, body, condition=None):
        """Replies to a $cbs or $management request on the link the requester opened for it."""
        props = {"status-code": status, "statusCode": status,
                 "status-description": description, "statusDescription": description}
        if condition:
            props["errorCondition"] = symbol(condition)
        reply = Message(
            correlation_id=request.id if request.id is not None else request.correlation_id,
            properties=props,
            body=body,
        )
        reply.address = request.reply_to
        out = self.reply_links.get((link.connection, request.reply_to)) or self.reply_links.get(
            (link.connection, link.target.address))
        self.log("reply", status, "to", request.reply_to, "" if out else "(no reply link)")
        if out is not None:
            out.send(reply)


class Ticker:
    """Periodic reactor timer: expires locks and hands the requeued messages to receivers."""

    def __init__(self, broker):
        self.broker = broker

    def on_timer_task(self, event):
        try:
            self.broker.tick()
        except Exception:  # keep the timer alive; the failure is the test's to see in the log
            traceback.print_exc()
        event.container.schedule(TICK_SECONDS, self)


# ------------------------------------------------------------------------------------ HTTP control
def settings_of(query):
    """lock_seconds / max_delivery_count from a query string (ValueError when malformed)."""
    q = urllib.parse.parse_qs(query)
    out = {}
    if "lock_seconds" in q:
        out["lock_seconds"] = float(q["lock_seconds"][-1])
        if out["lock_seconds"] <= 0:
            raise ValueError("lock_seconds must be positive")
    if "max_delivery_count" in q:
        out["max_delivery_count"] = int(q["max_delivery_count"][-1])
        if out["max_delivery_count"] < 1:
            raise ValueError("max_delivery_count must be at least 1")
    return out


def control_handler(ns):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, status, body=None):
            data = json.dumps(body, default=str).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def parts(self):
            path = urllib.parse.urlsplit(self.path).path
            return [urllib.parse.unquote(p).lower() for p in path.strip("/").split("/")]

        def do_GET(self):
            p = self.parts()
            if p == ["health"]:
                return self.reply(200, {"status": "ok", "sha256": SELF_SHA256})
            drain = p[-1] == "messages"
            node = Node.parse("/".join(p[1:-1] if drain else p[1:])) if p[0] == "entities" else None
            if node is None or node.mgmt:
                return self.reply(404, {"error": "not found"})
            with ns.lock:  # the JSON is made under the lock, sent after
                queue = ns.find(node)
                if queue is None:
                    out = None
                elif drain:
                    out = [m.stored() for m in queue.drain()]
                else:
                    out = {"name": queue.path, "active": len(queue.ready), "locked": len(queue.locked),
                           "dead_lettered": len(queue.dlq.ready) if queue.dlq else 0,
                           "subscriptions": sorted(queue.subscriptions)}
                    if node.sub and not node.dlq:  # a subscription: also its settings
                        out.update(lock_seconds=queue.lock_seconds, max_delivery_count=queue.max_delivery_count)
            if out is None:
                return self.reply(404, {"error": f"no entity {node.path()!r}"})
            self.reply(200, out)

        def do_PUT(self):
            p = self.parts()
            try:
                settings = settings_of(urllib.parse.urlsplit(self.path).query)
            except ValueError as e:
                return self.reply(400, {"error": str(e)})
            if len(p) in (2, 4) and p[0] == "entities" and all(p) and (len(p) == 2 or p[2] == "subscriptions"):
                if Node.parse("/".join(p[1:])) is None:
                    return self.reply(400, {"error": "bad entity name"})
                with ns.lock:
                    _, created = ns.create(p[1], p[3] if len(p) == 4 else None, **settings)
                return self.reply(201 if created else 200, {"name": "/".join(p[1:])})
            self.reply(404, {"error": "not found"})

        def do_DELETE(self):
            p = self.parts()
            if not (p[0] == "entities" and (len(p) == 2 or len(p) == 4 and p[2] == "subscriptions")):
                return self.reply(404, {"error": "not found"})
            with ns.lock:
                gone = ns.entities.get(p[1]) if len(p) == 2 else None
                if len(p) == 2:
                    ns.entities.pop(p[1], None)
                elif p[1] in ns.entities:
                    gone = ns.entities[p[1]].subscriptions.pop(p[3], None)
                for q in gone.queues() if gone else ():
                    q.deleted = True  # the reactor detaches its receivers
            self.reply(200 if gone is not None else 404, {"name": "/".join(p[1:])})

    return Control


# ------------------------------------------------------------------------- HTTP management (ATOM)
ATOM_NS = "http://www.w3.org/2005/Atom"
SB_NS = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
TTL_MAX = "P10675199DT2H48M5.4775807S"  # TimeSpan.MaxValue: Service Bus's default message TTL
ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def iso_seconds(text):
    """Seconds of an ISO-8601 duration such as 'PT1M30S' or 'P1DT2H' (ValueError otherwise)."""
    m = ISO_DURATION.fullmatch(text)
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not an ISO-8601 duration such as PT1M30S")
    d, h, mi, sec = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(sec or 0)


def iso_duration(seconds):
    """60 -> 'PT1M', 90 -> 'PT1M30S', 7.5 -> 'PT7.5S'."""
    d, rest = divmod(float(seconds), 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    out = "P" + (f"{int(d)}D" if d else "") + "T" + (f"{int(h)}H" if h else "") + (f"{int(m)}M" if m else "")
    if sec or not (d or h or m):
        out += f"{sec:.7f}".rstrip("0").rstrip(".") + "S"
    return out.rstrip("T")


def iso_time(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def boolean(name, text):
    if text.lower() not in ("true", "false"):
        raise ValueError(f"{name} {text!r} is not true or false")
    return text.lower()


def description_of(body, kind):
    """{field: text} of the <kind> (SB namespace) inside an ATOM entry's content; ValueError when
    the XML is malformed or holds no such description."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise ValueError(f"malformed XML: {e}") from None
    tag = f"{{{SB_NS}}}{kind}"
    desc = root if root.tag == tag else root.find(f"{{{ATOM_NS}}}content/{tag}")
    if desc is None:
        raise ValueError(f"expected an ATOM entry (namespace {ATOM_NS}) whose content is a {kind} "
                         f"(namespace {SB_NS})")
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in desc}


def settings_of_description(fields, subscription):
    """(Queue.configure settings, stored description fields) from a Topic/SubscriptionDescription;
    ValueError for what Service Bus (or this fake) refuses. Absent fields are left as they are."""
    settings, stored = {}, {}
    if fields.get("DefaultMessageTimeToLive"):
        iso_seconds(fields["DefaultMessageTimeToLive"])  # validated; messages never expire here
        stored["DefaultMessageTimeToLive"] = fields["DefaultMessageTimeToLive"]
    if not subscription:
        return settings, stored
    if fields.get("LockDuration"):
        settings["lock_seconds"] = iso_seconds(fields["LockDuration"])
        if not 5 <= settings["lock_seconds"] <= 300:
            raise ValueError(f"LockDuration {fields['LockDuration']!r} is not between PT5S and PT5M")
    if fields.get("MaxDeliveryCount"):
        try:
            settings["max_delivery_count"] = int(fields["MaxDeliveryCount"])
        except ValueError:
            raise ValueError(f"MaxDeliveryCount {fields['MaxDeliveryCount']!r} is not an integer") from None
        if settings["max_delivery_count"] < 1:
            raise ValueError("MaxDeliveryCount must be at least 1")
    if fields.get("DeadLetteringOnMessageExpiration"):
        stored["DeadLetteringOnMessageExpiration"] = boolean(
            "DeadLetteringOnMessageExpiration", fields["DeadLetteringOnMessageExpiration"])
    if fields.get("RequiresSession") and boolean("RequiresSession", fields["RequiresSession"]) == "true":
        raise ValueError("RequiresSession true is not supported: sb_fake has no sessions")
    return settings, stored


def described_entity(queue, subscription):
    """The (element, text) pairs of the entity's Topic/SubscriptionDescription."""
    common = [("Status", "Active"), ("CreatedAt", iso_time(queue.created)), ("UpdatedAt", iso_time(queue.updated))]
    ttl = queue.description.get("DefaultMessageTimeToLive", TTL_MAX)
    if not subscription:
        return [("DefaultMessageTimeToLive", ttl), ("SizeInBytes", 0), *common,
                ("SubscriptionCount", len(queue.subscriptions))]
    count = len(queue.ready) + len(queue.locked) + (len(queue.dlq.ready) if queue.dlq else 0)
    return [("LockDuration", iso_duration(queue.lock_seconds)), ("RequiresSession", "false"),
            ("DefaultMessageTimeToLive", ttl),
            ("DeadLetteringOnMessageExpiration", queue.description.get("DeadLetteringOnMessageExpiration", "false")),
            ("MessageCount", count), ("MaxDeliveryCount", queue.max_delivery_count), *common]


def atom_entry(url, title, kind, fields, published, updated):
    body = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields)
    return (f'<?xml version="1.0" encoding="utf-8"?><entry xmlns="{ATOM_NS}"><id>{escape(url)}</id>'
            f'<title type="text">{escape(title)}</title><published>{iso_time(published)}</published>'
            f'<updated>{iso_time(updated)}</updated><link rel="self" href="{escape(url)}"/>'
            f'<content type="application/xml"><{kind} xmlns="{SB_NS}" xmlns:i="{XSI_NS}">{body}</{kind}>'
            f'</content></entry>')


def covers(audience, path):
    """Whether a token for `audience` (any scheme, host[:port], path) covers the entity path `path`:
    the namespace root covers everything, a topic its subscriptions."""
    scope = audience.split("?", 1)[0].lower()
    scope = scope.split("://", 1)[1] if "://" in scope else scope
    granted = scope.split("/", 1)[1].strip("/") if "/" in scope else ""
    path = path.strip("/").lower()
    return granted == "" or path == granted or path.startswith(granted + "/")


def management_handler(ns, default_host):
    class Management(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, status, text, content_type):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, detail):
            self.send(status, f"<Error><Code>{status}</Code><Detail>{escape(detail)}</Detail></Error>",
                      "application/xml; charset=utf-8")

        def entry(self, queue, title, subscription):
            """The ATOM entry describing `queue` (made under ns.lock, sent after)."""
            kind = "SubscriptionDescription" if subscription else "TopicDescription"
            url = f"http://{self.headers.get('Host') or default_host}{self.path}"
            return atom_entry(url, title, kind, described_entity(queue, subscription), queue.created, queue.updated)

        def answer(self, status, text):
            """An ATOM entry for a 2xx status, else an error with `text` as its detail."""
            if status >= 300:
                return self.error(status, text)
            self.send(status, text, "application/atom+xml;type=entry;charset=utf-8")

        def target(self):
            """(path, topic, subscription or None) named by the URL (names as sent); the topic is
            None when the URL names neither a topic nor a subscription."""
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).strip("/")
            p = path.split("/")
            if any(x.startswith("$") for x in p) or Node.parse(path) is None:
                return path, None, None
            return path, p[0], (p[2] if len(p) == 3 else None)

        def authorized(self, path):
            """As Service Bus: a SharedAccessSignature in Authorization whose sr is on this host and
            covers `path`; else answers 401."""
            token = self.headers.get("Authorization")
            if not token:
                self.error(401, "MissingToken: the request has no Authorization header")
                return False
            status, detail = ns.check_token(token, host_of(self.headers.get("Host") or default_host))
            if status == 202 and not covers(detail, path):
                status, detail = 401, f"InvalidAudience: a token for {detail!r} does not cover '/{path}'"
            if status != 202:
                self.error(401, detail)
                return False
            return True

        def do_GET(self):
            path, topic, sub = self.target()
            if not self.authorized(path):
                return
            if topic is None:
                return self.error(404, f"no topic or subscription at '/{path}'")
            with ns.lock:
                queue = ns.find(Node(topic.lower(), sub and sub.lower()))
                xml = None if queue is None else self.entry(queue, sub or topic, sub is not None)
            if xml is None:
                return self.error(404, f"The messaging entity '/{path}' could not be found.")
            self.answer(200, xml)

        def do_PUT(self):
            path, topic, sub = self.target()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            if not self.authorized(path):
                return
            if topic is None:
                return self.error(404, f"no topic or subscription at '/{path}'")
            kind = "SubscriptionDescription" if sub else "TopicDescription"
            try:
                settings, stored = settings_of_description(description_of(body, kind), sub is not None)
            except ValueError as e:
                return self.error(400, str(e))
            update = self.headers.get("If-Match") is not None  # Service Bus: If-Match: * updates
            with ns.lock:
                parent = ns.entities.get(topic.lower())
                exists = parent is not None if sub is None else parent is not None and sub.lower() in parent.subscriptions
                if sub is not None and parent is None:
                    status, text = 404, f"The messaging entity '/{topic}' could not be found."
                elif exists and not update:
                    status, text = 409, f"The messaging entity '/{path}' already exists."
                elif update and not exists:
                    status, text = 404, f"The messaging entity '/{path}' could not be found."
                else:
                    queue, created = ns.create(topic.lower(), sub and sub.lower(), **settings)
                    queue.description.update(stored)
                    if not created:
                        queue.updated = time.time()
                    status, text = 201 if created else 200, self.entry(queue, sub or topic, sub is not None)
            self.answer(status, text)

    return Management


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.2:5672", help="AMQP host:port")
    ap.add_argument("--control", default="127.0.0.2:5673", help="HTTP control host:port")
    ap.add_argument("--management", default=None,
                    help="HTTP management (ATOM) host:port (default the --listen host, port 5300 as the "
                         "official emulator: 127.0.0.2:5300)")
    ap.add_argument("--key", action="append", default=[],
                    help="NAME=KEY shared access key (default RootManageSharedAccessKey=SAS_KEY_VALUE)")
    ap.add_argument("--entity", action="append", default=[], help="create this queue/topic at start")
    ap.add_argument("--subscription", action="append", default=[],
                    help="create this subscription (topic/subscriptions/sub) at start")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    keys = dict(k.split("=", 1) for k in a.key) or {"RootManageSharedAccessKey": "SAS_KEY_VALUE"}
    ns = Namespace(keys)
    for e in a.entity:
        ns.create(e.lower())
    for s in a.subscription:
        node = Node.parse(s)
        if node is None or not node.sub or node.dlq or node.mgmt:
            ap.error(f"--subscription {s!r}: expected topic/subscriptions/sub")
        ns.create(node.entity, node.sub)
    management = a.management or a.listen.rsplit(":", 1)[0] + ":5300"
    host, port = management.rsplit(":", 1)
    mgmt = ThreadingHTTPServer((host, int(port)), management_handler(ns, management))
    threading.Thread(target=mgmt.serve_forever, daemon=True).start()
    print(f"[sb-fake] management API on http://{management}", flush=True)
    host, port = a.control.rsplit(":", 1)
    control = ThreadingHTTPServer((host, int(port)), control_handler(ns))
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(f"[sb-fake] control API on http://{a.control}", flush=True)
    try:
        Container(Broker(a.listen, ns, a.verbose)).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

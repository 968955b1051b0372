#!/usr/bin/env python3
"""Test-only Azure Service Bus namespace for outpost-rs sender tests.

AMQP 1.0 side (python-qpid-proton), what a Service Bus *sender* touches:
  * plain AMQP with SASL ANONYMOUS, as the official emulator with UseDevelopmentEmulator=true
    (Service Bus clients always dial port 5672 there, so bind a spare loopback address);
  * the claims-based-security node "$cbs": put-token requests carry a SharedAccessSignature that
    is checked like Service Bus does (known key name, HMAC-SHA256 of "<sr>\\n<se>" with the key,
    not expired, audience on this namespace's host) and answered 202, or 401 with the reason;
  * sender links attach only to entities that exist (else amqp:not-found, naming the entity)
    and only after a token covering the entity was accepted on the connection (else
    amqp:unauthorized-access);
  * transfers are accepted and stored per entity (batches, message-format 0x80013700, split).

HTTP control side (for the tests; Service Bus itself manages entities through ARM):
  PUT    /entities/<name>            create a queue or topic (201; 200 if it exists)
  DELETE /entities/<name>            delete it with its messages
  GET    /entities/<name>/messages   JSON list of the stored messages, drained:
                                     {"body", "message_id", "content_type", "application_properties"}
  GET    /health                     200

Not implemented: sessions, receivers, subscriptions and filters, dead-lettering, transactions.
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from proton import Condition, Data, Delivery, Described, Message, Terminus
from proton.handlers import IncomingMessageHandler, MessagingHandler
from proton.reactor import Container

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


class Namespace:
    """Entities and their messages, shared by the AMQP and HTTP sides (under `lock`)."""

    def __init__(self, keys):
        self.keys = keys
        self.lock = threading.Lock()
        self.entities = {}

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


def split_batch(raw):
    """The messages of one transfer. A batch (message-format 0x80013700, which proton's Python
    API does not expose) carries one encoded message per data section, so a transfer whose data
    sections all hold encoded messages is taken as a batch."""
    datas, off = [], 0
    while off < len(raw):
        d = Data()
        n = d.decode(raw[off:])
        if n <= 0:
            break
        off += n
        d.rewind()
        d.next()
        obj = d.get_object()
        if isinstance(obj, Described) and obj.descriptor == 0x75:
            datas.append(bytes(obj.value))  # copy now: the memoryview dies with `d`
    if datas and all(len(b) > 2 and b[:2] == b"\x00\x53" and 0x70 <= b[2] <= 0x78 for b in datas):
        out = []
        for b in datas:
            m = Message()
            m.decode(b)
            out.append(m)
        return out
    m = Message()
    m.decode(raw)
    return [m]


def body_bytes(msg):
    body = msg.body
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, list):  # several data sections
        return b"".join(bytes(b) for b in body)
    if body is None:
        return b""
    return str(body).encode()


def stored(msg):
    raw = body_bytes(msg)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        body = None
    return {
        "body": body,
        "body_base64": base64.b64encode(raw).decode(),
        "message_id": None if msg.id is None else str(msg.id),
        "content_type": None if msg.content_type is None else str(msg.content_type),
        "application_properties": {str(k): v for k, v in (msg.properties or {}).items()},
    }


class Broker(MessagingHandler):
    def __init__(self, url, ns, verbose):
        super().__init__(prefetch=100, auto_accept=False)
        # transfers are decoded here (batches must be split), not by proton's default handler
        self.handlers = [h for h in self.handlers if not isinstance(h, IncomingMessageHandler)]
        self.url = url
        self.ns = ns
        self.verbose = verbose
        self.reply_links = {}  # (connection, address) -> sender link of $cbs replies
        self.tokens = {}  # connection -> accepted audiences

    def log(self, *a):
        if self.verbose:
            print(f"[sb-fake {time.time():.3f}]", *a, file=sys.stderr, flush=True)

    def on_start(self, event):
        event.container.allowed_mechs = "ANONYMOUS"
        event.container.allow_insecure_mechs = True
        event.container.listen(self.url)
        print(f"[sb-fake] AMQP listening on {self.url}", flush=True)

    def authorized(self, conn, entity):
        host = (conn.remote_hostname or "").lower()
        for audience in self.tokens.get(conn, ()):
            a = audience.lower()
            scope = a.split("://", 1)[1] if "://" in a else a
            path = scope.split("/", 1)[1].strip("/") if "/" in scope else ""
            if host_of(a) == host and (path == "" or path == entity):
                return True
        return False

    def on_link_opening(self, event):
        link = event.link
        link.snd_settle_mode = link.remote_snd_settle_mode
        link.rcv_settle_mode = link.remote_rcv_settle_mode
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        if link.is_sender:  # the peer receives: only replies of the $cbs and $management nodes
            src, tgt = link.remote_source.address or "", link.remote_target.address
            if src == "$cbs" or self.management_of(link, src):
                self.reply_links[(link.connection, tgt)] = link
                self.reply_links[(link.connection, src)] = link
            else:
                self.refuse(link, "amqp:not-implemented", "this fake does not serve receivers")
            return
        target = link.remote_target.address or ""
        if target == "$cbs" or self.management_of(link, target):
            return
        entity = entity_of(target)
        if not self.exists(link, entity):
            return
        if not self.authorized(link.connection, entity):
            self.refuse(link, "amqp:unauthorized-access",
                        f"Unauthorized access. 'Send' claim(s) are required to perform this operation on '{entity}'.")
        else:
            self.log("sender attached to", entity)

    def management_of(self, link, address):
        """Whether `address` is an entity's management node ('<entity>/$management'); a node
        of an unknown entity is refused."""
        if not address.endswith("$management"):
            return False
        self.exists(link, entity_of(address[: -len("$management")]))
        return True

    def exists(self, link, entity):
        """Whether `entity` exists; refuses the link (amqp:not-found) when it does not."""
        with self.ns.lock:
            found = entity in self.ns.entities
        if not found:
            host = link.connection.remote_hostname or "namespace"
            self.refuse(link, "amqp:not-found",
                        f"The messaging entity 'sb://{host}/{entity}' could not be found.")
        return found

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

    def on_link_closing(self, event):
        self.forget(event.link)

    def on_connection_closing(self, event):
        self.tokens.pop(event.connection, None)

    def on_disconnected(self, event):
        self.tokens.pop(event.connection, None)
        for k in [k for k in self.reply_links if k[0] is event.connection]:
            del self.reply_links[k]

    def forget(self, link):
        for k in [k for k, v in self.reply_links.items() if v is link]:
            del self.reply_links[k]

    def on_delivery(self, event):
        dlv = event.delivery
        link = dlv.link
        if not link.is_receiver or not dlv.readable or dlv.partial:
            return
        raw = link.recv(dlv.pending)
        link.advance()
        target = link.target.address or ""
        if target == "$cbs" or target.endswith("$management"):
            m = Message()
            m.decode(raw)
            if target == "$cbs":
                self.put_token(link, m)
            else:
                self.answer(link, m, 200, "OK", {})
            dlv.update(Delivery.ACCEPTED)
        else:
            entity = entity_of(target)
            msgs = [stored(m) for m in split_batch(raw)]
            with self.ns.lock:
                queue = self.ns.entities.get(entity)
                if queue is not None:
                    queue.extend(msgs)
            if queue is None:
                dlv.local.condition = Condition("amqp:not-found", f"entity {entity!r} was deleted")
                dlv.update(Delivery.REJECTED)
            else:
                self.log("stored", len(msgs), "message(s) for", entity)
                dlv.update(Delivery.ACCEPTED)
        dlv.settle()

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

    def answer(self, link, request, status, description, body):
        """Replies to a $cbs or $management request on the link the requester opened for it."""
        reply = Message(
            correlation_id=request.id if request.id is not None else request.correlation_id,
            properties={"status-code": status, "statusCode": status,
                        "status-description": description, "statusDescription": description},
            body=body,
        )
        reply.address = request.reply_to
        out = self.reply_links.get((link.connection, request.reply_to)) or self.reply_links.get(
            (link.connection, link.target.address))
        self.log("reply", status, "to", request.reply_to, "" if out else "(no reply link)")
        if out is not None:
            out.send(reply)


def control_handler(ns):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, status, body=None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def parts(self):
            return [urllib.parse.unquote(p) for p in self.path.split("?", 1)[0].strip("/").split("/")]

        def do_GET(self):
            p = self.parts()
            if p == ["health"]:
                return self.reply(200, {"status": "ok"})
            if len(p) == 3 and p[0] == "entities" and p[2] == "messages":
                with ns.lock:
                    queue = ns.entities.get(p[1].lower())
                    if queue is None:
                        return self.reply(404, {"error": f"no entity {p[1]!r}"})
                    out = list(queue)
                    queue.clear()
                return self.reply(200, out)
            self.reply(404, {"error": "not found"})

        def do_PUT(self):
            p = self.parts()
            if len(p) == 2 and p[0] == "entities" and p[1]:
                with ns.lock:
                    created = p[1].lower() not in ns.entities
                    ns.entities.setdefault(p[1].lower(), [])
                return self.reply(201 if created else 200, {"name": p[1]})
            self.reply(404, {"error": "not found"})

        def do_DELETE(self):
            p = self.parts()
            if len(p) == 2 and p[0] == "entities":
                with ns.lock:
                    gone = ns.entities.pop(p[1].lower(), None)
                return self.reply(200 if gone is not None else 404, {"name": p[1]})
            self.reply(404, {"error": "not found"})

    return Control


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.2:5672", help="AMQP host:port")
    ap.add_argument("--control", default="127.0.0.2:5673", help="HTTP control host:port")
    ap.add_argument("--key", action="append", default=[],
                    help="NAME=KEY shared access key (default RootManageSharedAccessKey=SAS_KEY_VALUE)")
    ap.add_argument("--entity", action="append", default=[], help="create this queue/topic at start")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    keys = dict(k.split("=", 1) for k in a.key) or {"RootManageSharedAccessKey": "SAS_KEY_VALUE"}
    ns = Namespace(keys)
    for e in a.entity:
        ns.entities[e.lower()] = []
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

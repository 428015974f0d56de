#!/usr/bin/env python3
"""An independent FastCGI client that probes a running `quire fastcgi`.

Written from the FastCGI 1.0 specification with the Python standard library
only, so that it shares no code (and no misreading of the spec) with
quire's own record codec. Usage: fcgi_probe.py UNIX_SOCKET. Prints one line
per check and exits non-zero on the first failure.
"""

import os
import socket
import struct
import sys

VERSION = 1
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
GET_VALUES = 9
GET_VALUES_RESULT = 10
RESPONDER = 1
KEEP_CONN = 1
MAX_CONTENT = 65535
TIMEOUT = 20.0


class ProbeError(Exception):
    pass


def record(rtype, request_id, content=b""):
    if len(content) > MAX_CONTENT:
        raise ValueError("record content too long")
    padding = (8 - len(content) % 8) % 8
    header = struct.pack(">BBHHBx", VERSION, rtype, request_id, len(content), padding)
    return header + content + b"\0" * padding


def stream(rtype, request_id, data, chunk=MAX_CONTENT):
    """The records of one stream, ending with its empty record."""
    out = [record(rtype, request_id, data[i:i + chunk]) for i in range(0, len(data), chunk)]
    out.append(record(rtype, request_id))
    return out


def nv_length(n):
    if n < 128:
        return struct.pack(">B", n)
    return struct.pack(">I", n | 0x80000000)


def name_values(pairs):
    out = b""
    for name, value in pairs:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        out += nv_length(len(name)) + nv_length(len(value)) + name + value
    return out


def parse_name_values(data):
    pairs = {}
    i = 0
    while i < len(data):
        lengths = []
        for _ in range(2):
            if data[i] & 0x80:
                lengths.append(struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lengths.append(data[i])
                i += 1
        name = data[i:i + lengths[0]]
        i += lengths[0]
        value = data[i:i + lengths[1]]
        i += lengths[1]
        pairs[name.decode()] = value.decode()
    return pairs


def begin(request_id):
    return record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN))


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(path)
    return sock


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ProbeError("connection closed mid-record")
        data += chunk
    return data


def read_record(sock):
    version, rtype, request_id, length, padding = struct.unpack(">BBHHBx", recv_exact(sock, 8))
    if version != VERSION:
        raise ProbeError("record version %d" % version)
    content = recv_exact(sock, length)
    recv_exact(sock, padding)
    return rtype, request_id, content


def read_responses(sock, ids):
    """Reads records until every id in `ids` has ended; returns
    {id: (stdout, stderr, app_status, protocol_status)}."""
    out = {i: [b"", b""] for i in ids}
    ended = {}
    while len(ended) < len(ids):
        rtype, request_id, content = read_record(sock)
        if request_id not in out:
            raise ProbeError("record type %d for unexpected id %d" % (rtype, request_id))
        if request_id in ended:
            raise ProbeError("record type %d after END_REQUEST for id %d" % (rtype, request_id))
        if rtype == STDOUT:
            out[request_id][0] += content
        elif rtype == STDERR:
            out[request_id][1] += content
        elif rtype == END_REQUEST:
            app_status, protocol_status = struct.unpack(">IB3x", content)
            ended[request_id] = (app_status, protocol_status)
        else:
            raise ProbeError("unexpected record type %d" % rtype)
    return {i: (out[i][0], out[i][1]) + ended[i] for i in ids}


def cgi_params(path_info, method="GET", extra=()):
    pairs = [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("REQUEST_METHOD", method),
        ("SCRIPT_NAME", "/wiki"),
        ("PATH_INFO", path_info),
        ("QUERY_STRING", ""),
        ("REMOTE_ADDR", "127.0.0.1"),
    ]
    pairs.extend(extra)
    return name_values(pairs)


def simple_request(sock, request_id, path_info, method="GET", extra=(), body=b""):
    records = [begin(request_id)]
    records += stream(PARAMS, request_id, cgi_params(path_info, method, extra))
    records += stream(STDIN, request_id, body)
    sock.sendall(b"".join(records))
    return read_responses(sock, [request_id])[request_id]


def expect_200(response, what, needle=None):
    stdout, stderr, app_status, protocol_status = response
    text = stdout.decode("utf-8", "replace")
    if protocol_status != 0:
        raise ProbeError("%s: protocol status %d" % (what, protocol_status))
    if not text.startswith("Status: 200"):
        raise ProbeError("%s: not 200: %r (stderr %r)" % (what, text[:300], stderr[:300]))
    if needle is not None and needle not in text:
        raise ProbeError("%s: %r not in response: %r" % (what, needle, text[:600]))
    return text


def check_get_values(path):
    with connect(path) as sock:
        names = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]
        sock.sendall(record(GET_VALUES, 0, name_values((n, "") for n in names)))
        rtype, request_id, content = read_record(sock)
        if rtype != GET_VALUES_RESULT or request_id != 0:
            raise ProbeError("GET_VALUES answered with type %d id %d" % (rtype, request_id))
        values = parse_name_values(content)
        for name in names:
            if not values.get(name, "").isdigit():
                raise ProbeError("GET_VALUES_RESULT lacks a number for %s: %r" % (name, values))
        if values["FCGI_MPXS_CONNS"] != "1":
            raise ProbeError("FCGI_MPXS_CONNS is %r" % values["FCGI_MPXS_CONNS"])
        return "GET_VALUES answered: %r" % values


def check_multiplexed(path):
    pages = {1: "/FrontPage", 2: "/Help", 3: "/Help/Editing"}
    with connect(path) as sock:
        out = [begin(i) for i in pages]
        # Small records so that the streams really interleave.
        params = {i: stream(PARAMS, i, cgi_params(p), chunk=50) for i, p in pages.items()}
        longest = max(len(r) for r in params.values())
        for n in range(longest):
            for i in pages:
                if n < len(params[i]):
                    out.append(params[i][n])
        for i in pages:
            out.append(record(STDIN, i))
        sock.sendall(b"".join(out))
        responses = read_responses(sock, list(pages))
    for i, page in pages.items():
        text = expect_200(responses[i], "request %d (%s)" % (i, page))
        # The title names the page exactly: no id got another's answer.
        title = "<title>%s \u00b7 " % page[1:]
        if title not in text:
            raise ProbeError("request %d (%s) got another page: %r" % (i, page, text[:600]))
    return "3 multiplexed requests on one connection answered with their own pages"


def check_big_params(path):
    filler = "x" * (200 * 1024 + 17)
    with connect(path) as sock:
        params = cgi_params("/FrontPage", extra=[("HTTP_X_FILLER", filler)])
        records = stream(PARAMS, 1, params)
        if len(records) < 4:
            raise ProbeError("the params block did not span several records")
        sock.sendall(begin(1) + b"".join(records) + record(STDIN, 1))
        expect_200(read_responses(sock, [1])[1], "200 KiB params")
    return "a %d-byte params block in %d records accepted" % (len(params), len(records) - 1)


def session_and_token(path, path_info):
    """GETs a form as a browser would: the session cookie it sets and the form's CSRF token,
    without which quire refuses a POST with 403."""
    with connect(path) as sock:
        response = simple_request(sock, 1, path_info)
    text = expect_200(response, "the form at %s" % path_info)
    head, _, html = text.replace("\r\n", "\n").partition("\n\n")
    cookie = None
    for line in head.split("\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "set-cookie":
            cookie = value.strip().split(";")[0]
    marker = 'name="csrf_token" value="'
    start = html.find(marker)
    if cookie is None or start < 0:
        raise ProbeError("no session cookie or CSRF token in the form: %r" % text[:600])
    start += len(marker)
    return cookie, html[start:html.index('"', start)]


def check_big_body(path):
    marker = "ProbeMarker"
    text = (marker + " ") * ((1024 * 1024) // (len(marker) + 1) + 1)
    cookie, token = session_and_token(path, "/+edit/ProbePage")
    body = ("csrf_token=" + token + "&text=" + text.replace(" ", "+") + "&action=preview").encode()
    extra = [
        ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
        ("CONTENT_LENGTH", str(len(body))),
        ("HTTP_COOKIE", cookie),
    ]
    with connect(path) as sock:
        response = simple_request(sock, 1, "/+edit/ProbePage", "POST", extra, body)
    expect_200(response, "1 MiB POST", marker)
    return "a %d-byte POST body accepted and previewed" % len(body)


def check_abort(path):
    with connect(path) as sock:
        params = stream(PARAMS, 7, cgi_params("/FrontPage"), chunk=40)
        # BEGIN and some of the params, never their end: then abort.
        sock.sendall(begin(7) + b"".join(params[:2]) + record(ABORT_REQUEST, 7))
        while True:
            rtype, request_id, content = read_record(sock)
            if request_id != 7:
                raise ProbeError("record for id %d after aborting 7" % request_id)
            if rtype == END_REQUEST:
                app_status, protocol_status = struct.unpack(">IB3x", content)
                break
            if rtype not in (STDOUT, STDERR):
                raise ProbeError("unexpected record type %d after abort" % rtype)
    return "aborted request ended (app status %d, protocol status %d)" % (app_status, protocol_status)


def check_garbage(path):
    garbage = b"\xff" + os.urandom(63)
    with connect(path) as sock:
        sock.settimeout(5.0)
        sock.sendall(garbage)
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    break
        except socket.timeout:
            raise ProbeError("connection not closed within 5 s after garbage")
        except ConnectionResetError:
            pass
    with connect(path) as sock:
        expect_200(simple_request(sock, 1, "/FrontPage"), "request after garbage")
    return "garbage met with a closed connection; the next connection served"


CHECKS = [
    ("get_values", check_get_values),
    ("multiplexed", check_multiplexed),
    ("big_params", check_big_params),
    ("big_body", check_big_body),
    ("abort", check_abort),
    ("garbage", check_garbage),
]


def main():
    if len(sys.argv) != 2:
        print("usage: fcgi_probe.py UNIX_SOCKET", file=sys.stderr)
        return 2
    for name, check in CHECKS:
        try:
            line = check(sys.argv[1])
        except (ProbeError, OSError, struct.error, ValueError) as err:
            print("FAIL %s: %s" % (name, err), flush=True)
            return 1
        print("ok   %s: %s" % (name, line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

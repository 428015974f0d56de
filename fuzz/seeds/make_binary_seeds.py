#!/usr/bin/env python3
"""Writes the binary seeds of the fastcgi, scgi and cgi_environ fuzz targets (the text seeds of the
other targets are written by hand). Run from anywhere: python3 fuzz/seeds/make_binary_seeds.py

Each seed is what a real web server sends (see the notes in /work/shared/GATEWAYS.md, summed up in
TESTING.md): nginx's one PARAMS record padded to 8 bytes, Apache's unpadded records, cgi-fcgi's pair
split across two records, the SCGI spec's own example, a CGI environment as Apache sets it."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


# FastCGI ---------------------------------------------------------------------------------------
BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES = 1, 2, 3, 4, 5, 6, 7, 8, 9


def record(kind, rid, content=b"", pad=True):
    padding = (8 - len(content) % 8) % 8 if pad else 0
    return struct.pack(">BBHHBx", 1, kind, rid, len(content), padding) + content + b"\0" * padding


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pairs(items):
    out = b""
    for name, value in items:
        out += length(len(name)) + length(len(value)) + name + value
    return out


def begin(rid, keep_conn=False, role=1):
    return record(BEGIN, rid, struct.pack(">HB5x", role, 1 if keep_conn else 0))


def nginx_params(method, path, query=b"", body_type=b"", body_len=b""):
    return [
        (b"QUERY_STRING", query),
        (b"REQUEST_METHOD", method),
        (b"CONTENT_TYPE", body_type),
        (b"CONTENT_LENGTH", body_len),
        (b"SCRIPT_NAME", b"/wiki"),
        (b"REQUEST_URI", b"/wiki" + path + (b"?" + query if query else b"")),
        (b"DOCUMENT_URI", b"/wiki" + path),
        (b"DOCUMENT_ROOT", b"/usr/share/nginx/html"),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"REQUEST_SCHEME", b"http"),
        (b"GATEWAY_INTERFACE", b"CGI/1.1"),
        (b"SERVER_SOFTWARE", b"nginx/1.22.1"),
        (b"REMOTE_ADDR", b"192.0.2.7"),
        (b"REMOTE_PORT", b"51234"),
        (b"SERVER_ADDR", b"192.0.2.1"),
        (b"SERVER_PORT", b"8080"),
        (b"SERVER_NAME", b"wiki.example"),
        (b"REDIRECT_STATUS", b"200"),
        (b"PATH_INFO", path),
        (b"HTTP_HOST", b"wiki.example"),
        (b"HTTP_USER_AGENT", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        (b"HTTP_ACCEPT", b"text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        (b"HTTP_ACCEPT_ENCODING", b"gzip, deflate, br"),
        (b"HTTP_COOKIE", b"quire_session=AAAA.BBBB; theme=dark"),
    ]


FORM = b"csrf=k3Jq9&base=4&text=%23+Title%0D%0ASee+%5B%5BHome%5D%5D.&comment=typo"
MULTIPART = (
    b"-----------------------------9051914041544843365972754266\r\n"
    b'Content-Disposition: form-data; name="csrf"\r\n\r\n'
    b"k3Jq9\r\n"
    b"-----------------------------9051914041544843365972754266\r\n"
    b'Content-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"some notes\r\n\r\n"
    b"-----------------------------9051914041544843365972754266--\r\n"
)
MULTIPART_TYPE = b"multipart/form-data; boundary=---------------------------9051914041544843365972754266"

# nginx, a GET: one PARAMS record, padded, then the empty PARAMS and STDIN.
write("fastcgi", "nginx-get", begin(1) + record(PARAMS, 1, pairs(nginx_params(b"GET", b"/FrontPage")))
      + record(PARAMS, 1) + record(STDIN, 1))
# nginx with fastcgi_keep_conn, a form POST: the body in STDIN, two requests on one connection.
post = pairs(nginx_params(b"POST", b"/+edit/Home", b"", b"application/x-www-form-urlencoded",
                          str(len(FORM)).encode()))
write("fastcgi", "nginx-keepalive-post",
      begin(1, keep_conn=True) + record(PARAMS, 1, post) + record(PARAMS, 1) + record(STDIN, 1, FORM)
      + record(STDIN, 1)
      + begin(1, keep_conn=True) + record(PARAMS, 1, pairs(nginx_params(b"GET", b"/Home", b"rev=3")))
      + record(PARAMS, 1) + record(STDIN, 1))
# Apache mod_proxy_fcgi: no padding, the params split into two records, an upload body.
upload = pairs(nginx_params(b"POST", b"/+files/Home", b"", MULTIPART_TYPE, str(len(MULTIPART)).encode()))
write("fastcgi", "apache-upload",
      record(BEGIN, 1, struct.pack(">HB5x", 1, 0), pad=False)
      + record(PARAMS, 1, upload[:200], pad=False) + record(PARAMS, 1, upload[200:], pad=False)
      + record(PARAMS, 1, pad=False) + record(STDIN, 1, MULTIPART, pad=False) + record(STDIN, 1, pad=False))
# cgi-fcgi: a pair split across two records, and a value over 127 bytes (a 4-byte length).
long_query = b"q=" + b"caf%C3%A9+" * 20
split = pairs([(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/Search"), (b"QUERY_STRING", long_query)])
write("fastcgi", "cgi-fcgi-split-pair",
      begin(1) + record(PARAMS, 1, split[:20]) + record(PARAMS, 1, split[20:]) + record(PARAMS, 1)
      + record(STDIN, 1))
# The spec's other records: GET_VALUES, two requests multiplexed, an abort, an unknown role, DATA.
write("fastcgi", "multiplexed-and-management",
      record(GET_VALUES, 0, pairs([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b""), (b"FCGI_MPXS_CONNS", b"")]))
      + begin(1, keep_conn=True) + begin(2, keep_conn=True)
      + record(PARAMS, 2, pairs([(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/B")]))
      + record(PARAMS, 1, pairs([(b"REQUEST_METHOD", b"HEAD"), (b"PATH_INFO", b"/A")]))
      + record(PARAMS, 2) + record(ABORT, 1) + record(STDIN, 2) + begin(3, role=2) + record(DATA, 3, b"x")
      + record(99, 0, b"unknown"))

# SCGI ------------------------------------------------------------------------------------------


def netstring(items):
    block = b"".join(name + b"\0" + value + b"\0" for name, value in items)
    return str(len(block)).encode() + b":" + block + b","


# The example of the SCGI spec, body included.
write("scgi", "spec-example",
      b"70:CONTENT_LENGTH\x0027\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/deepthought\x00,"
      b"What is the answer to life?")
# nginx scgi_pass with scgi_params: CONTENT_LENGTH first (empty for a GET is "0"), SCGI=1.
scgi_get = [(b"CONTENT_LENGTH", b"0"), (b"SCGI", b"1")] + [
    (n, v) for n, v in nginx_params(b"GET", b"/Team/Notes", b"action=raw") if n != b"CONTENT_LENGTH"]
write("scgi", "nginx-get", netstring(scgi_get))
scgi_post = [(b"CONTENT_LENGTH", str(len(FORM)).encode()), (b"SCGI", b"1")] + [
    (n, v) for n, v in nginx_params(b"POST", b"/+edit/Home", b"", b"application/x-www-form-urlencoded")
    if n != b"CONTENT_LENGTH"]
write("scgi", "nginx-post", netstring(scgi_post) + FORM)

# CGI -------------------------------------------------------------------------------------------


def environ(items, body=b""):
    return b"".join(name + b"=" + value + b"\0" for name, value in items) + b"\0" + body


apache = [
    (b"GATEWAY_INTERFACE", b"CGI/1.1"),
    (b"SERVER_SOFTWARE", b"Apache/2.4.62 (Debian)"),
    (b"SERVER_NAME", b"wiki.example"),
    (b"SERVER_PORT", b"443"),
    (b"HTTPS", b"on"),
    (b"REQUEST_SCHEME", b"https"),
    (b"REMOTE_ADDR", b"2001:db8::7"),
    (b"SCRIPT_NAME", b"/cgi-bin/quire"),
    (b"PATH_INFO", b"/Team/Meeting Notes"),
    (b"PATH_TRANSLATED", b"/var/www/html/Team/Meeting Notes"),
    (b"QUERY_STRING", b"rev=2&diff=1"),
    (b"REQUEST_URI", b"/cgi-bin/quire/Team/Meeting%20Notes?rev=2&diff=1"),
    (b"HTTP_HOST", b"wiki.example"),
    (b"HTTP_COOKIE", b"quire_session=AAAA.BBBB"),
    (b"HTTP_ACCEPT_LANGUAGE", b"fr-CH, fr;q=0.9, en;q=0.8"),
    (b"PATH", b"/usr/local/bin:/usr/bin:/bin"),
]
write("cgi_environ", "apache-get", environ([(b"REQUEST_METHOD", b"GET")] + apache))
write("cgi_environ", "apache-form-post", environ(
    [(b"REQUEST_METHOD", b"POST"), (b"CONTENT_TYPE", b"application/x-www-form-urlencoded"),
     (b"CONTENT_LENGTH", str(len(FORM)).encode())] + apache, FORM))
write("cgi_environ", "apache-upload", environ(
    [(b"REQUEST_METHOD", b"POST"), (b"CONTENT_TYPE", MULTIPART_TYPE),
     (b"CONTENT_LENGTH", str(len(MULTIPART)).encode())] + apache, MULTIPART))
# lighttpd with a percent-decoded non-UTF-8 path, HTTP/1.0, a Proxy header (httpoxy) and Basic auth.
write("cgi_environ", "lighttpd-odd", environ([
    (b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b""), (b"PATH_INFO", b"/\xff\xfe"),
    (b"SERVER_PROTOCOL", b"HTTP/1.0"), (b"HTTP_PROXY", b"http://evil.example:1"),
    (b"REMOTE_USER", b"ada"), (b"AUTH_TYPE", b"Basic"), (b"SERVER_PORT", b"81"),
    (b"HTTP_HOST", b"[::1]")]))

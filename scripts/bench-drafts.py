"""Times an autosave (POST /+draft) against the editor's GET, with and without a draft offered,
through `quire serve` (release) on one keep-alive connection. Usage: scripts/bench-drafts.py HOST:PORT (a fresh `quire serve`)"""
import http.client, re, statistics, sys, time, urllib.parse

host, port = sys.argv[1].split(":")
TEXT = "".join(f"Line {n} of a page that is being written, with a few words.\n" for n in range(64))

class Session:
    def __init__(self):
        self.conn = http.client.HTTPConnection(host, int(port))
        self.cookies = {}
    def send(self, method, path, fields=None, accept=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if accept:
            headers["Accept"] = accept
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - started
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, value = v.split(";")[0].split("=", 1)
                self.cookies[name] = value
        return resp.status, data.decode("utf-8", "replace"), elapsed
    def token(self, html):
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

def ms(samples):
    samples = sorted(samples)
    return f"p50 {statistics.median(samples)*1000:.2f} ms, p90 {samples[int(len(samples)*0.9)]*1000:.2f} ms (n={len(samples)})"

drafts, editor_plain, editor_offer, saves = [], [], [], []
for who in range(5):
    s = Session()
    _, html, _ = s.send("GET", "/+register")
    name = f"bench{who}"
    status, _, _ = s.send("POST", "/+register", {"name": name, "display_name": "", "email": "", "password": "a long bench password", "password2": "a long bench password", "csrf_token": s.token(html)})
    assert status == 303, status
    page = f"Bench{who}"
    _, html, _ = s.send("GET", f"/+edit/{page}")
    status, _, _ = s.send("POST", f"/+edit/{page}", {"text": TEXT, "comment": "", "base_rev": "", "action": "save", "csrf_token": s.token(html)})
    assert status == 303, status
    for _ in range(30):
        status, html, t = s.send("GET", f"/+edit/{page}")
        editor_plain.append(t)
    token = s.token(html)
    for n in range(35):
        text = TEXT + f"A draft's line {n}.\n"
        status, body, t = s.send("POST", f"/+draft/{page}", {"text": text, "comment": "wip", "base_rev": "1", "csrf_token": token}, accept="application/json")
        assert status == 200 and "kept" in body, (status, body)
        drafts.append(t)
    for _ in range(30):
        status, html, t = s.send("GET", f"/+edit/{page}")
        assert "unsaved draft" in html
        editor_offer.append(t)
    token = s.token(html)
    for n in range(20):
        status, _, t = s.send("POST", f"/+edit/{page}", {"text": TEXT + f"Saved line {n}.\n", "comment": "", "base_rev": str(n + 1), "action": "save", "csrf_token": token})
        assert status == 303, status
        saves.append(t)
print("POST /+draft (4.1 KiB text):", ms(drafts))
print("GET /+edit, no draft:       ", ms(editor_plain))
print("GET /+edit, draft offered:  ", ms(editor_offer))
print("POST /+edit, a save:        ", ms(saves))

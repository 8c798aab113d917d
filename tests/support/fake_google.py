#!/usr/bin/python3
"""A loopback stand-in for Google: the OAuth 2.0 installed-app endpoints and the Drive v3 calls
Lifeboat makes, with faults that a test switches on at run time.

Run: fake_google.py DATA_DIR  -> prints "PORT <n>" on stdout once it listens on 127.0.0.1:<n>.

OAuth (as documented for installed apps):
  GET  /o/oauth2/auth     auto-consents: redirects to redirect_uri with code and state
  POST /token             grant_type=authorization_code (checks PKCE S256) | refresh_token
  POST /revoke            token=<access or refresh token>
Drive v3 (under /drive/v3 and /upload/drive/v3):
  about.get, files.list (q, fields, pageToken, pageSize), files.get (metadata, alt=media with Range),
  files.create (metadata only, uploadType=multipart|media|resumable with 308/Range status queries),
  files.update (PATCH), files.delete.
Control (for tests, not part of Google):
  POST /_control/fault   {"scope": "api"|"upload"|"chunk"|"media"|"media_drop"|"lost_answer"|"token",
                          "status": 503, "keep": false (a refused chunk is not kept), "skip": n (armed
                          after n matching requests),
                          "reason": "...", "retry_after": 1, "drop": true, "times": 1}
  POST /_control/set     {"quota_limit": n, "page_size": n, "corrupt_checksum": true, ...}
  POST /_control/expire_access_tokens, /_control/revoke_refresh_tokens
  POST /_control/damage  {"name": part of a file name}: flips a byte in each matching stored file
  GET  /_control/state   files (without content), counters, and every token handed out
Content is kept in DATA_DIR, so a 1 GiB upload costs disk, not memory.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK_GRANULE = 256 * 1024
LOCK = threading.RLock()


class State:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.files = {}  # id -> metadata dict (without content)
        self.codes = {}  # auth code -> request facts
        self.access_tokens = {}  # token -> {"expired": bool, "refresh": str}
        self.refresh_tokens = {}  # token -> {"revoked": bool, "scope": str}
        self.sessions = {}  # upload id -> {"meta", "total", "received", "path"}
        self.faults = []
        self.settings = {"quota_limit": 15 * 1024**3, "quota_base_usage": 1000, "page_size": 3,
                         "corrupt_checksum": False, "omit_sha256": False,
                         "email": "person@example.com"}
        self.counters = {"uploads_completed": 0, "resumable_sessions": 0, "chunks": 0,
                         "status_queries": 0, "multipart": 0, "refreshes": 0, "revokes": 0,
                         "media_downloads": 0, "requests": 0}
        self.requests = []
        self.next_id = 1

    def new_id(self):
        self.next_id += 1
        return "f%06d%s" % (self.next_id, secrets.token_hex(4))

    def usage(self):
        return self.settings["quota_base_usage"] + sum(int(f.get("size", 0)) for f in self.files.values())

    def take_fault(self, scope):
        with LOCK:
            for fault in self.faults:
                if fault.get("scope", "api") in (scope, "any") and fault.get("times", 1) > 0:
                    if fault.get("skip", 0) > 0:
                        # armed only after `skip` matching requests went through
                        fault["skip"] -= 1
                        return None
                    fault["times"] = fault.get("times", 1) - 1
                    if fault["times"] <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


STATE = None


def google_error(code, reason, message, domain="global"):
    return {"error": {"code": code, "message": message,
                      "errors": [{"domain": domain, "reason": reason, "message": message}]}}


def digests(path):
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def select_fields(obj, fields):
    """Applies a Drive `fields` mask: 'a,b(c,d)' keeps only those keys."""
    if not fields or fields == "*":
        return obj
    out = {}
    for name, sub in parse_fields(fields):
        if name in obj:
            value = obj[name]
            if sub and isinstance(value, list):
                value = [select_fields(item, sub) for item in value]
            elif sub and isinstance(value, dict):
                value = select_fields(value, sub)
            out[name] = value
    return out


def parse_fields(text):
    items, depth, current, start = [], 0, "", 0
    parts = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if "(" in part:
            name, rest = part.split("(", 1)
            items.append((name.strip(), rest[:-1]))
        elif "/" in part:
            name, rest = part.split("/", 1)
            items.append((name.strip(), rest))
        else:
            items.append((part, None))
    return items


def matches(meta, query):
    """The subset of Drive's query language Lifeboat uses, joined with `and`."""
    if not query:
        return not meta.get("trashed")
    # `and` inside `appProperties has { key=... and value=... }` does not separate clauses.
    for clause in re.split(r"\s+and\s+(?![^{]*\})", query.strip()):
        clause = clause.strip()
        m = re.fullmatch(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", clause)
        if m:
            if meta["name"] != m.group(1).replace("\\'", "'").replace("\\\\", "\\"):
                return False
            continue
        m = re.fullmatch(r"'([^']*)'\s+in\s+parents", clause)
        if m:
            if m.group(1) not in meta.get("parents", []):
                return False
            continue
        m = re.fullmatch(r"mimeType\s*(=|!=)\s*'([^']*)'", clause)
        if m:
            equal = meta["mimeType"] == m.group(2)
            if equal != (m.group(1) == "="):
                return False
            continue
        m = re.fullmatch(r"trashed\s*=\s*(true|false)", clause)
        if m:
            if bool(meta.get("trashed")) != (m.group(1) == "true"):
                return False
            continue
        m = re.fullmatch(r"appProperties\s+has\s+\{\s*key\s*=\s*'([^']*)'\s+and\s+value\s*=\s*'([^']*)'\s*\}", clause)
        if m:
            if meta.get("appProperties", {}).get(m.group(1)) != m.group(2):
                return False
            continue
        raise ValueError("unsupported query clause: " + clause)
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ----- plumbing -----
    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_empty(self, code, headers=None):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def query(self):
        parsed = urllib.parse.urlparse(self.path)
        return parsed.path, {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}

    def inject(self, scope):
        """Answers with an injected fault, if one is armed for `scope`. True when it answered."""
        fault = STATE.take_fault(scope)
        if not fault:
            return False
        if fault.get("drop"):
            self.read_body()
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        status = fault.get("status", 503)
        reason = fault.get("reason", "backendError")
        headers = {}
        if "retry_after" in fault:
            headers["Retry-After"] = str(fault["retry_after"])
        self.read_body() if scope not in ("chunk",) else None
        messages = {
            "storageQuotaExceeded": "The user's Drive storage quota has been exceeded.",
            "uploadLimitExceeded": "The user has exceeded their Drive upload limit.",
            "dailyLimitExceeded": "Daily Limit Exceeded",
            "rateLimitExceeded": "Rate Limit Exceeded",
            "userRateLimitExceeded": "User Rate Limit Exceeded",
            "backendError": "Backend Error",
        }
        self.send_json(status, google_error(status, reason, messages.get(reason, reason),
                                            "usageLimits" if "Limit" in reason else "global"), headers)
        return True

    def authorized(self):
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        info = STATE.access_tokens.get(token)
        if not info or info["expired"] or STATE.refresh_tokens.get(info["refresh"], {}).get("revoked"):
            self.read_body()
            self.send_json(401, google_error(401, "authError", "Invalid Credentials"),
                           {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
            return False
        if "drive.file" not in STATE.refresh_tokens.get(info["refresh"], {}).get("scope", ""):
            self.send_json(403, google_error(403, "insufficientPermissions", "Insufficient Permission"))
            return False
        return True

    def record(self):
        with LOCK:
            STATE.counters["requests"] += 1
            STATE.requests.append({"method": self.command, "path": self.path,
                                   "authorization": self.headers.get("Authorization", "")})

    # ----- verbs -----
    def do_GET(self):
        self.record()
        path, params = self.query()
        try:
            if path == "/_control/state":
                return self.control_state()
            if path == "/o/oauth2/auth":
                return self.auth(params)
            if not path.startswith(("/drive/v3", "/upload/drive/v3")):
                return self.send_json(404, google_error(404, "notFound", "Not Found"))
            if self.inject("api") or not self.authorized():
                return
            if path == "/drive/v3/about":
                return self.about(params)
            if path == "/drive/v3/files":
                return self.list_files(params)
            m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
            if m:
                return self.get_file(m.group(1), params)
            self.send_json(404, google_error(404, "notFound", "Not Found"))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        self.record()
        path, params = self.query()
        try:
            if path.startswith("/_control/"):
                return self.control(path, json.loads(self.read_body() or b"{}"))
            if path == "/token":
                return self.token()
            if path == "/revoke":
                return self.revoke(params)
            if self.inject("api") or not self.authorized():
                return
            if path == "/drive/v3/files":
                return self.create_metadata(params)
            if path == "/upload/drive/v3/files":
                return self.upload(params)
            self.send_json(404, google_error(404, "notFound", "Not Found"))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_PUT(self):
        self.record()
        path, params = self.query()
        try:
            if path == "/upload/drive/v3/files" and "upload_id" in params:
                if not self.authorized():
                    return
                return self.resumable_put(params["upload_id"])
            self.send_json(404, google_error(404, "notFound", "Not Found"))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_PATCH(self):
        self.record()
        path, params = self.query()
        m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if not m:
            return self.send_json(404, google_error(404, "notFound", "Not Found"))
        if self.inject("api") or not self.authorized():
            return
        with LOCK:
            meta = STATE.files.get(m.group(1))
            if not meta:
                return self.send_json(404, google_error(404, "notFound", "File not found: " + m.group(1)))
            change = json.loads(self.read_body() or b"{}")
            for key, value in change.items():
                if key == "appProperties":
                    meta.setdefault("appProperties", {}).update(value)
                elif key in ("name", "description", "trashed"):
                    meta[key] = value
            meta["modifiedTime"] = now_rfc3339()
            self.send_json(200, select_fields(public(meta), params.get("fields") or "kind,id,name,mimeType"))

    def do_DELETE(self):
        self.record()
        path, params = self.query()
        m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if not m:
            return self.send_json(404, google_error(404, "notFound", "Not Found"))
        if self.inject("api") or not self.authorized():
            return
        with LOCK:
            meta = STATE.files.pop(m.group(1), None)
            if not meta:
                return self.send_json(404, google_error(404, "notFound", "File not found: " + m.group(1)))
            if meta.get("path") and os.path.exists(meta["path"]):
                os.remove(meta["path"])
        self.send_empty(204)

    # ----- OAuth -----
    def auth(self, params):
        required = ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
                    "code_challenge_method"]
        missing = [name for name in required if not params.get(name)]
        if missing or params["code_challenge_method"] != "S256" or params["response_type"] != "code":
            body = ("bad consent request: missing " + ",".join(missing)).encode()
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        redirect = params["redirect_uri"]
        host = urllib.parse.urlparse(redirect).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            return self.send_json(400, {"error": "invalid_request", "error_description": "redirect_uri"})
        code = "code-" + secrets.token_urlsafe(16)
        with LOCK:
            STATE.codes[code] = dict(params)
        separator = "&" if "?" in redirect else "?"
        if STATE.settings.get("grant_no_scope"):
            # The person unticked the Drive box on Google's granular consent page.
            STATE.codes[code]["scope"] = "openid"
        location = redirect + separator + urllib.parse.urlencode(
            {"state": params["state"], "code": code, "scope": STATE.codes[code]["scope"]})
        self.send_empty(302, {"Location": location})

    def token(self):
        # A fault reads the body itself, so it is looked at first.
        if self.inject("token"):
            return
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(self.read_body().decode()).items()}
        grant = form.get("grant_type")
        with LOCK:
            if grant == "authorization_code":
                request = STATE.codes.pop(form.get("code", ""), None)
                if not request:
                    return self.send_json(400, {"error": "invalid_grant", "error_description": "Malformed auth code."})
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if challenge != request["code_challenge"]:
                    return self.send_json(400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
                if form.get("redirect_uri") != request["redirect_uri"] or form.get("client_id") != request["client_id"]:
                    return self.send_json(400, {"error": "invalid_grant", "error_description": "redirect_uri or client_id mismatch"})
                if not form.get("client_secret"):
                    return self.send_json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
                refresh = "1//refresh-" + secrets.token_urlsafe(24)
                STATE.refresh_tokens[refresh] = {"revoked": False, "scope": request["scope"]}
                access = self.new_access(refresh)
                return self.send_json(200, {"access_token": access, "expires_in": 3599, "refresh_token": refresh,
                                            "scope": request["scope"], "token_type": "Bearer"})
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                info = STATE.refresh_tokens.get(refresh)
                if not info or info["revoked"]:
                    return self.send_json(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
                STATE.counters["refreshes"] += 1
                access = self.new_access(refresh)
                return self.send_json(200, {"access_token": access, "expires_in": 3599, "scope": info["scope"],
                                            "token_type": "Bearer"})
        self.send_json(400, {"error": "unsupported_grant_type"})

    def new_access(self, refresh):
        access = "ya29.access-" + secrets.token_urlsafe(24)
        STATE.access_tokens[access] = {"expired": False, "refresh": refresh}
        return access

    def revoke(self, params):
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(self.read_body().decode()).items()}
        token = form.get("token") or params.get("token")
        with LOCK:
            STATE.counters["revokes"] += 1
            if token in STATE.refresh_tokens:
                STATE.refresh_tokens[token]["revoked"] = True
            elif token in STATE.access_tokens:
                STATE.refresh_tokens.get(STATE.access_tokens[token]["refresh"], {})["revoked"] = True
            else:
                return self.send_json(400, {"error": "invalid_token", "error_description": "Token expired or revoked"})
        self.send_json(200, {})

    # ----- Drive -----
    def about(self, params):
        limit = STATE.settings["quota_limit"]
        body = {"kind": "drive#about",
                "user": {"kind": "drive#user", "displayName": "A Person", "emailAddress": STATE.settings["email"],
                         "me": True},
                "storageQuota": {"limit": str(limit), "usage": str(STATE.usage()),
                                 "usageInDrive": str(STATE.usage()), "usageInDriveTrash": "0"}}
        if not params.get("fields"):
            return self.send_json(400, google_error(400, "required", "The 'fields' parameter is required for this method."))
        self.send_json(200, select_fields(body, params["fields"]))

    def list_files(self, params):
        try:
            with LOCK:
                found = [public(meta) for meta in STATE.files.values() if matches(meta, params.get("q", ""))]
        except ValueError as error:
            return self.send_json(400, google_error(400, "invalid", "Invalid Value: " + str(error)))
        found.sort(key=lambda meta: meta["id"])
        page_size = min(int(params.get("pageSize") or 100), STATE.settings["page_size"])
        start = int(params.get("pageToken") or 0)
        page = found[start:start + page_size]
        body = {"kind": "drive#fileList", "incompleteSearch": False, "files": page}
        if start + page_size < len(found):
            body["nextPageToken"] = str(start + page_size)
        self.send_json(200, select_fields(body, params.get("fields") or "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"))

    def get_file(self, file_id, params):
        with LOCK:
            meta = STATE.files.get(file_id)
        if not meta:
            return self.send_json(404, google_error(404, "notFound", "File not found: " + file_id))
        if params.get("alt") != "media":
            return self.send_json(200, select_fields(public(meta), params.get("fields") or "kind,id,name,mimeType"))
        if self.inject("media"):
            return
        STATE.counters["media_downloads"] += 1
        size = int(meta.get("size", 0))
        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        if wanted:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if not m or int(m.group(1)) >= max(size, 1):
                return self.send_json(416, google_error(416, "requestedRangeNotSatisfiable", "Range Not Satisfiable"))
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", meta["mimeType"])
        self.send_header("Content-Length", str(end - start + 1 if size else 0))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        drop = STATE.take_fault("media_drop")
        with open(meta["path"], "rb") as f:
            f.seek(start)
            remaining = end - start + 1 if size else 0
            sent = 0
            while remaining > 0:
                block = f.read(min(remaining, 1 << 20))
                if not block:
                    break
                if drop and sent + len(block) > (end - start + 1) // 2:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(block)
                sent += len(block)
                remaining -= len(block)

    def create_metadata(self, params):
        meta = json.loads(self.read_body() or b"{}")
        with LOCK:
            created = self.new_file(meta, None)
        self.send_json(200, select_fields(public(created), params.get("fields") or "kind,id,name,mimeType"))

    def new_file(self, meta, content_path):
        file_id = STATE.new_id()
        stamp = now_rfc3339()
        record = {"kind": "drive#file", "id": file_id, "name": meta.get("name", "Untitled"),
                  "mimeType": meta.get("mimeType") or ("application/octet-stream" if content_path else "application/octet-stream"),
                  "parents": meta.get("parents") or ["root"], "appProperties": meta.get("appProperties", {}),
                  "createdTime": stamp, "modifiedTime": stamp, "trashed": False}
        if content_path:
            final = os.path.join(STATE.data_dir, file_id)
            os.replace(content_path, final)
            sha, md5 = digests(final)
            record.update({"path": final, "size": str(os.path.getsize(final)), "sha256Checksum": sha, "md5Checksum": md5})
            if STATE.settings["corrupt_checksum"]:
                record["sha256Checksum"] = "0" * 64
                record["md5Checksum"] = "0" * 32
            if STATE.settings["omit_sha256"]:
                record.pop("sha256Checksum")
            STATE.counters["uploads_completed"] += 1
        STATE.files[file_id] = record
        return record

    def quota_refusal(self, size):
        if STATE.usage() + size > STATE.settings["quota_limit"]:
            self.send_json(403, google_error(403, "storageQuotaExceeded",
                                             "The user's Drive storage quota has been exceeded.", "usageLimits"))
            return True
        return False

    def upload(self, params):
        kind = params.get("uploadType")
        if self.inject("upload"):
            return
        if kind == "multipart":
            STATE.counters["multipart"] += 1
            content_type = self.headers.get("Content-Type", "")
            m = re.search(r'boundary="?([^";]+)"?', content_type)
            if not content_type.startswith("multipart/related") or not m:
                return self.send_json(400, google_error(400, "badContent", "Expected multipart/related"))
            body = self.read_body()
            parts = parse_multipart(body, m.group(1).encode())
            if len(parts) != 2:
                return self.send_json(400, google_error(400, "badContent", "Expected two parts"))
            meta = json.loads(parts[0][1] or b"{}")
            if self.quota_refusal(len(parts[1][1])):
                return
            temp = os.path.join(STATE.data_dir, "tmp-" + secrets.token_hex(8))
            with open(temp, "wb") as f:
                f.write(parts[1][1])
            meta.setdefault("mimeType", parts[1][0].get("content-type"))
            with LOCK:
                created = self.new_file(meta, temp)
            if STATE.take_fault("lost_answer"):
                # The file was made, but the answer never reaches the client.
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send_json(200, select_fields(public(created), params.get("fields") or "kind,id,name,mimeType"))
        if kind == "media":
            body = self.read_body()
            temp = os.path.join(STATE.data_dir, "tmp-" + secrets.token_hex(8))
            with open(temp, "wb") as f:
                f.write(body)
            with LOCK:
                created = self.new_file({"mimeType": self.headers.get("Content-Type")}, temp)
            return self.send_json(200, select_fields(public(created), params.get("fields") or "kind,id,name,mimeType"))
        if kind == "resumable":
            meta = json.loads(self.read_body() or b"{}")
            total = self.headers.get("X-Upload-Content-Length")
            if total is not None and self.quota_refusal(int(total)):
                return
            upload_id = "up-" + secrets.token_urlsafe(12)
            with LOCK:
                STATE.counters["resumable_sessions"] += 1
                STATE.sessions[upload_id] = {"meta": meta, "total": int(total) if total else None, "received": 0,
                                             "path": os.path.join(STATE.data_dir, "session-" + upload_id),
                                             "fields": params.get("fields"), "done": None}
                open(STATE.sessions[upload_id]["path"], "wb").close()
            host = self.headers.get("Host")
            location = "http://%s/upload/drive/v3/files?uploadType=resumable&upload_id=%s" % (host, upload_id)
            return self.send_empty(200, {"Location": location})
        self.send_json(400, google_error(400, "invalid", "Invalid uploadType"))

    def resumable_put(self, upload_id):
        session = STATE.sessions.get(upload_id)
        if not session:
            self.read_body()
            return self.send_json(404, google_error(404, "notFound", "No such upload session"))
        content_range = self.headers.get("Content-Range", "")
        length = int(self.headers.get("Content-Length") or 0)
        status_query = re.fullmatch(r"bytes \*/(\d+|\*)", content_range)
        if status_query:
            self.read_body()
            STATE.counters["status_queries"] += 1
            return self.session_answer(session)
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
        if not m:
            self.read_body()
            return self.send_json(400, google_error(400, "badRequest", "Bad Content-Range"))
        first, last = int(m.group(1)), int(m.group(2))
        total = None if m.group(3) == "*" else int(m.group(3))
        if session["done"]:
            self.read_body()
            return self.session_answer(session)
        if first != session["received"] or last - first + 1 != length:
            self.read_body()
            return self.send_json(400, google_error(400, "badRequest",
                                                    "Content-Range starts at %d, %d bytes were received" % (first, session["received"])))
        is_last = total is not None and last + 1 == total
        if not is_last and length % CHUNK_GRANULE != 0:
            self.read_body()
            return self.send_json(400, google_error(400, "badRequest", "Chunk size must be a multiple of 256 KiB"))
        fault = STATE.take_fault("chunk")
        STATE.counters["chunks"] += 1
        keep = length
        if fault and fault.get("drop"):
            # Read half of the chunk, keep what a real server would have persisted (whole 256 KiB
            # granules), then hang up without answering.
            keep = (length // 2) // CHUNK_GRANULE * CHUNK_GRANULE
            data = self.rfile.read(length // 2)
            with open(session["path"], "ab") as f:
                f.write(data[:keep])
            session["received"] += keep
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault and not fault.get("keep", True):
            # The chunk is refused and nothing of it is kept.
            self.read_body()
            status = fault.get("status", 503)
            return self.send_json(status, google_error(status, fault.get("reason", "backendError"), "Backend Error"))
        remaining = length
        with open(session["path"], "ab") as f:
            while remaining > 0:
                block = self.rfile.read(min(remaining, 1 << 20))
                if not block:
                    raise ConnectionResetError()
                f.write(block)
                remaining -= len(block)
        if fault:
            # Bytes arrived but the answer is an error: the client must ask what arrived.
            session["received"] += length
            status = fault.get("status", 503)
            return self.send_json(status, google_error(status, fault.get("reason", "backendError"), "Backend Error"))
        session["received"] += length
        if total is not None:
            session["total"] = total
        if session["total"] is not None and session["received"] == session["total"]:
            if self.quota_refusal(session["total"]):
                return
            with LOCK:
                session["done"] = self.new_file(session["meta"], session["path"])
        self.session_answer(session)

    def session_answer(self, session):
        if session["done"]:
            return self.send_json(200, select_fields(public(session["done"]), session["fields"] or "kind,id,name,mimeType"))
        headers = {}
        if session["received"] > 0:
            headers["Range"] = "bytes=0-%d" % (session["received"] - 1)
        self.send_empty(308, headers)

    # ----- control -----
    def control(self, path, body):
        with LOCK:
            if path == "/_control/fault":
                STATE.faults.append(body)
            elif path == "/_control/set":
                STATE.settings.update(body)
            elif path == "/_control/expire_access_tokens":
                for info in STATE.access_tokens.values():
                    info["expired"] = True
            elif path == "/_control/revoke_refresh_tokens":
                for info in STATE.refresh_tokens.values():
                    info["revoked"] = True
            elif path == "/_control/clear_faults":
                STATE.faults.clear()
            elif path == "/_control/damage":
                # Bit rot on Google's side: flip one byte in the middle of every stored file whose
                # name contains body["name"]; the metadata (and its checksums) stay as they were.
                for meta in STATE.files.values():
                    if body.get("name", "") in meta.get("name", "") and meta.get("path"):
                        with open(meta["path"], "r+b") as f:
                            size = os.path.getsize(meta["path"])
                            f.seek(size // 2)
                            byte = f.read(1)
                            f.seek(size // 2)
                            f.write(bytes([byte[0] ^ 0xFF]) if byte else b"")
            else:
                return self.send_json(404, {"error": "unknown control"})
        self.send_json(200, {"ok": True})

    def control_state(self):
        with LOCK:
            body = {"files": [public(meta) for meta in STATE.files.values()], "counters": STATE.counters,
                    "faults": STATE.faults, "access_tokens": list(STATE.access_tokens),
                    "refresh_tokens": STATE.refresh_tokens, "codes_issued": len(STATE.codes),
                    "requests": STATE.requests[-200:]}
        self.send_json(200, body)


def public(meta):
    return {key: value for key, value in meta.items() if key != "path"}


def parse_multipart(body, boundary):
    parts = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                key, value = line.split(b":", 1)
                headers[key.strip().lower().decode()] = value.strip().decode()
        parts.append((headers, content))
    return parts


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def main():
    global STATE
    data_dir = sys.argv[1]
    os.makedirs(data_dir, exist_ok=True)
    STATE = State(data_dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

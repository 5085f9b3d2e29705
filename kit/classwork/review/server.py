"""``kit review``'s web server: Tornado (already installed as Jupyter's own server), on the loopback only.

Every request needs the session's random token: in the URL for what the browser loads, in an ``X-Review-Token``
header for every change, which a page of another origin can neither read nor send (a cross-origin request with a
custom header is preflighted, and no preflight is answered). A change must also come as JSON, from this origin, to
this host name (no DNS rebinding). The page may load nothing but its own script and style and ``data:`` images, so an
answer's image or link is never fetched.
"""
import hmac
import json
from pathlib import Path

import tornado.web

from kit.classwork.review.store import Conflict, Refused

STATIC = Path(__file__).with_name("static")
FILES = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TOKEN_HEADER = "X-Review-Token"


class Base(tornado.web.RequestHandler):
    """Token, host and origin checks, and the safety headers, for every handler."""

    def initialize(self, app):
        self.app = app

    def set_default_headers(self):
        self.set_header("Content-Security-Policy", POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")

    def prepare(self):
        if self.request.host not in self.app.hosts:
            raise tornado.web.HTTPError(403, reason="wrong host")
        if self.request.method == "GET":
            given = self.get_query_argument("token", "") or self.request.headers.get(TOKEN_HEADER, "")
        else:
            given = self.request.headers.get(TOKEN_HEADER, "")
            origin = self.request.headers.get("Origin")
            if origin is not None and origin not in self.app.origins:
                raise tornado.web.HTTPError(403, reason="cross-origin request")
            if not self.request.headers.get("Content-Type", "").startswith("application/json"):
                raise tornado.web.HTTPError(415, reason="JSON only")
        if not hmac.compare_digest(given.encode(), self.app.token.encode()):
            raise tornado.web.HTTPError(403, reason="token required")

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": self._reason}))

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, reason="not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, reason="not a JSON object")
        return data

    def reply(self, call, *args, **kwargs):
        try:
            self.write(json.dumps(call(*args, **kwargs), ensure_ascii=False))
        except Conflict as exc:
            self.set_status(409)
            self.write(json.dumps({"error": str(exc), "now": exc.now}, ensure_ascii=False))
        except Refused as exc:
            self.set_status(422)
            self.write(json.dumps({"error": str(exc)}, ensure_ascii=False))
        self.set_header("Content-Type", "application/json; charset=utf-8")


class Page(Base):
    def get(self):
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(self.app.shell)


class Static(Base):
    def get(self, name):
        if name not in FILES:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", FILES[name])
        self.write((STATIC / name).read_bytes())


class Overview(Base):
    def get(self):
        self.reply(self.app.klass.overview)


class Question(Base):
    def get(self, name):
        self.reply(self.app.klass.question, name)


class Run(Base):
    def get(self):
        self.reply(self.app.klass.run, self.get_query_argument("submission"))


class Flags(Base):
    def get(self):
        self.reply(self.app.klass.flags)


class Copies(Base):
    def get(self):
        self.reply(self.app.klass.copies)


class Answer(Base):
    def get(self):
        self.reply(self.app.klass.answer, self.get_query_argument("submission"), self.get_query_argument("question"))


class Pending(Base):
    def get(self):
        self.reply(self.app.klass.pending)


class Change(Base):
    """``POST /api/<what>``: one change, saved at once; 409 with the value now there when it changed meanwhile."""

    def post(self, what):
        data, store = self.body(), self.app.klass.store
        calls = {
            "items": lambda: store.set_items(data["submission"], data["question"], list(data["items"]),
                                             data.get("expected")),
            "value": lambda: store.set_value(data["submission"], data["question"], str(data.get("value", "")),
                                             data.get("expected")),
            "zero": lambda: store.zero_unanswered(data["question"], [str(s) for s in data["submissions"]]),
            "comment": lambda: store.set_comment(data["submission"], str(data.get("question") or ""),
                                                 str(data.get("comment", "")), data.get("expected")),
            "draft": lambda: store.save_draft(data["submission"], str(data.get("note", ""))),
            "copy": lambda: store.decide_copy(str(data["group"]), str(data["decision"]), str(data.get("note", "")),
                                              data.get("expected")),
            "flag": lambda: store.decide_flag(data["submission"], str(data["decision"]), str(data.get("note", "")),
                                              data.get("expected")),
            "item-points": lambda: store.set_item_points(data["question"], str(data["item"]), str(data["points"]),
                                                         bool(data.get("confirm"))),
            "item-add": lambda: store.add_item(data["question"], str(data.get("text", "")),
                                               str(data.get("points", ""))),
            "publish": lambda: self.app.publish_checked(bool(data.get("confirm"))),
        }
        if what not in calls:
            raise tornado.web.HTTPError(404)
        try:
            self.reply(calls[what])
        except (KeyError, TypeError) as exc:
            self.set_status(400)
            self.write(json.dumps({"error": f"incomplete request: {exc}"}))


class App:
    """The server's state: the class, the token, the addresses it answers to, and how to publish."""

    def __init__(self, klass, token: str, port: int, publish):
        self.klass, self.token, self.publish = klass, token, publish
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.shell = (STATIC / "review.html").read_text(encoding="utf-8").replace("{{token}}", token)

    def publish_checked(self, confirm: bool) -> dict:
        """Publish, or first say what is still undecided (blank discussion points, undecided flags, rows to regrade):
        then only once the grader confirms."""
        pending = self.klass.pending()
        if pending["any"] and not confirm:
            return {"published": "", "pending": pending}
        return self.publish() | {"pending": pending}

    def application(self) -> tornado.web.Application:
        args = {"app": self}
        return tornado.web.Application([
            (r"/", Page, args),
            (r"/static/([\w.]+)", Static, args),
            (r"/api/overview", Overview, args),
            (r"/api/question/(\w+)", Question, args),
            (r"/api/run", Run, args),
            (r"/api/flags", Flags, args),
            (r"/api/answer", Answer, args),
            (r"/api/copies", Copies, args),
            (r"/api/pending", Pending, args),
            (r"/api/([\w-]+)", Change, args),
        ])

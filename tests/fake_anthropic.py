"""A local HTTP server that speaks Anthropic's Messages API, for driving the real SDK.

Replies come from a script (a list) in order; every request is recorded with its headers
and JSON body. Binds to 127.0.0.1 on a free port.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def text_reply(text: str, usage: dict | None = None) -> dict:
    return {"status": 200, "text": text,
            "usage": usage or {"input_tokens": 1200, "output_tokens": 800,
                               "cache_creation_input_tokens": 2500,
                               "cache_read_input_tokens": 0}}


def error_reply(status: int, kind: str, message: str = "scripted error") -> dict:
    return {"status": status, "error": {"type": kind, "message": message}}


class FakeAnthropic:
    def __init__(self):
        self.script: list[dict] = []
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path,
                                       "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": body})
                step = outer.script.pop(0) if outer.script else error_reply(
                    500, "api_error", "the test script ran out of replies")
                if step["status"] == 200:
                    payload = {"id": f"msg_{len(outer.requests)}", "type": "message",
                               "role": "assistant", "model": body["model"],
                               "content": [{"type": "text", "text": step["text"]}],
                               "stop_reason": "end_turn", "stop_sequence": None,
                               "usage": step["usage"]}
                else:
                    payload = {"type": "error", "error": step["error"]}
                data = json.dumps(payload).encode()
                self.send_response(step["status"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def user_texts(self, i: int) -> str:
        """All user message text of request ``i``."""
        return "\n".join(m["content"] if isinstance(m["content"], str) else
                         "".join(c.get("text", "") for c in m["content"])
                         for m in self.requests[i]["body"]["messages"] if m["role"] == "user")

    def close(self):
        self.server.shutdown()

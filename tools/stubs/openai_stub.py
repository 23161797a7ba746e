"""A STUB of an OpenAI-compatible server: it replays scripted answers, it is not a model.

Tests (and offline demos of the LLM path) start it as a real process and point
the openai SDK at it (``OPENAI_BASE_URL=http://127.0.0.1:N/v1``):

    python -m tools.stubs.openai_stub --port 8200

Endpoints:
- ``POST /v1/chat/completions``: answers with the next scripted response, in the
  shape of the real API (``id, object, created, model, choices``; tool-call
  ``arguments`` is a JSON *string*; errors as ``{"error": {...}}``). With nothing
  scripted it answers 503 ``{"error": {"message": "stub: nothing scripted"}}``.
- ``POST /_script`` ``{"responses": [step, ...]}`` appends steps to the queue; a step is
  ``{"tool_call": {"name": "...", "arguments": <str | object>}, "content": "...",
  "status": 500, "error": "...", "delay_s": 2.0}`` (every key optional; ``arguments``
  given as an object is serialised, a string is sent as is, malformed or not).
- ``POST /_reset`` empties the queue and the request log; ``GET /_requests`` lists
  the request bodies received since (to check what the client sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import deque
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_script: deque[dict[str, Any]] = deque()
_requests: list[dict[str, Any]] = []


def _error(status: int, message: str) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status)


def _completion(step: dict[str, Any], model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": step.get("content"), "refusal": None}
    finish = "stop"
    if "tool_call" in step:
        call = step["tool_call"]
        arguments = call.get("arguments", {})
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-stub-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


async def chat_completions(request: Request) -> JSONResponse:
    body = await request.json()
    _requests.append(body)
    if not _script:
        return _error(503, "stub: nothing scripted")
    step = _script.popleft()
    if step.get("delay_s"):
        await asyncio.sleep(float(step["delay_s"]))
    if step.get("status", 200) >= 400:
        return _error(int(step["status"]), step.get("error", "stub: scripted error"))
    return JSONResponse(_completion(step, body.get("model", "stub")))


async def script(request: Request) -> JSONResponse:
    steps = (await request.json()).get("responses", [])
    _script.extend(steps)
    return JSONResponse({"queued": len(_script)})


async def reset(request: Request) -> JSONResponse:
    _script.clear()
    _requests.clear()
    return JSONResponse({"queued": 0})


async def requests_seen(request: Request) -> JSONResponse:
    return JSONResponse({"requests": _requests})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/_script", script, methods=["POST"]),
        Route("/_reset", reset, methods=["POST"]),
        Route("/_requests", requests_seen, methods=["GET"]),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.stubs.openai_stub")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

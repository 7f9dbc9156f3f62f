"""Control endpoints under `/__admin/` (outside every Confluence API path): stats, faults, mutations, reset.

They let a test or the benchmark steer a simulator running in another process over plain HTTP:

  GET  /__admin/stats              request counters per endpoint and status, bytes sent, faults injected
  POST /__admin/stats/reset        zero the counters
  GET  /__admin/faults             installed fault rules with their counters
  POST /__admin/faults             {"add": rule | [rules]} -> {"ids": [...]}, {"remove": id}, {"clear": true}
  POST /__admin/rate-limit         {"capacity": 10, "refill_amount": 5, ...} (RateLimitPolicy) or {"disable": true}
  POST /__admin/mutations          {"op": "edit", "kwargs": {...}} -> the affected item as JSON
  POST /__admin/reset              regenerate the data set, drop faults, counters and caches
  GET  /__admin/info               flavour, base URL, endpoint names, data set size

No Confluence credentials are needed; when `SimulatorConfig.admin_token` is set, requests must carry
`Authorization: Bearer <admin_token>`.
"""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from confluence_simulator.faults import FaultRule, RateLimitPolicy, RateLimiter
from confluence_simulator.model import Content, Space
from confluence_simulator.mutations import MutationError, NotFoundError
from confluence_simulator.routes import ApiError, Request, Response

if TYPE_CHECKING:  # pragma: no cover - typing only
    from confluence_simulator.server import Simulator


def content_summary(item: Content) -> dict[str, Any]:
    """The fields a test needs to find a mutated item again through the APIs."""
    return {
        "id": item.id,
        "type": item.type,
        "status": item.status,
        "title": item.title,
        "space_id": item.space_id,
        "parent_id": item.parent_id,
        "parent_comment_id": item.parent_comment_id,
        "version": item.versions[-1].number,
        "last_modified": item.last_modified.isoformat(),
        "labels": list(item.labels),
        "media_type": item.media_type,
        "file_size": item.file_size,
    }


def space_summary(space: Space) -> dict[str, Any]:
    return {"id": space.id, "key": space.key, "name": space.name, "type": space.type, "status": space.status}


class AdminApi:
    def __init__(self, simulator: "Simulator") -> None:
        self.simulator = simulator

    def authorize(self, request: Request) -> None:
        token = self.simulator.config.admin_token
        if token is None:
            return
        offered = request.headers.get("authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            raise ApiError(401, "The admin endpoints need the admin token.")

    def handle(self, request: Request) -> Response:
        self.authorize(request)
        action = request.path.strip("/")
        routes = {
            ("GET", "stats"): self.stats,
            ("POST", "stats/reset"): self.reset_stats,
            ("GET", "faults"): self.list_faults,
            ("POST", "faults"): self.change_faults,
            ("POST", "rate-limit"): self.rate_limit,
            ("POST", "mutations"): self.mutate,
            ("POST", "reset"): self.reset,
            ("GET", "info"): self.info,
        }
        handler = routes.get((request.method, action))
        if handler is None:
            raise ApiError(404, f"No admin endpoint {request.method} /__admin/{action}")
        return handler(request)

    @staticmethod
    def _json(request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            value = json.loads(request.body)
        except ValueError as exc:
            raise ApiError(400, f"Request body is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return value

    def stats(self, request: Request) -> Response:
        return Response.json_obj(self.simulator.stats())

    def reset_stats(self, request: Request) -> Response:
        self.simulator.stats_recorder.reset()
        return Response.json_obj({"reset": True})

    def list_faults(self, request: Request) -> Response:
        return Response.json_obj({"rules": self.simulator.faults.snapshot()})

    def change_faults(self, request: Request) -> Response:
        body = self._json(request)
        faults = self.simulator.faults
        if body.get("clear"):
            faults.clear()
        if "remove" in body:
            faults.remove(int(body["remove"]))
        ids: list[int] = []
        added = body.get("add")
        if added is not None:
            rules = added if isinstance(added, list) else [added]
            try:
                parsed = [FaultRule.from_dict(rule) for rule in rules]
            except (ValueError, TypeError) as exc:
                raise ApiError(400, str(exc)) from exc
            ids = [faults.add(rule) for rule in parsed]
        return Response.json_obj({"ids": ids, "rules": faults.snapshot()})

    def rate_limit(self, request: Request) -> Response:
        body = self._json(request)
        if body.get("disable"):
            self.simulator.rate_limiter = None
            return Response.json_obj({"rate_limit": None})
        known = {f.name for f in fields(RateLimitPolicy)}
        try:
            policy = RateLimitPolicy(**{key: value for key, value in body.items() if key in known})
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from exc
        self.simulator.rate_limiter = RateLimiter(policy)
        return Response.json_obj({"rate_limit": {key: getattr(policy, key) for key in known}})

    def mutate(self, request: Request) -> Response:
        body = self._json(request)
        op = body.get("op")
        kwargs = body.get("kwargs") or {}
        if not isinstance(op, str) or op.startswith("_") or not isinstance(kwargs, dict):
            raise ApiError(400, 'Send {"op": "<Mutations method>", "kwargs": {...}}')
        if "data_base64" in kwargs:
            kwargs["data"] = base64.b64decode(kwargs.pop("data_base64"))
        elif isinstance(kwargs.get("data"), str):
            kwargs["data"] = kwargs["data"].encode("utf-8")
        mutations = self.simulator.mutations
        if not callable(getattr(mutations.target, op, None)):
            raise ApiError(400, f"Unknown mutation {op!r}")
        try:
            result = getattr(mutations, op)(**kwargs)
        except NotFoundError as exc:
            raise ApiError(404, str(exc)) from exc
        except (MutationError, TypeError) as exc:
            raise ApiError(400, str(exc)) from exc
        if isinstance(result, Content):
            return Response.json_obj({"op": op, "content": content_summary(result)})
        if isinstance(result, Space):
            return Response.json_obj({"op": op, "space": space_summary(result)})
        return Response.json_obj({"op": op, "result": None})

    def reset(self, request: Request) -> Response:
        self.simulator.reset()
        return Response.json_obj({"reset": True, "documents": len(self.simulator.site.content)})

    def info(self, request: Request) -> Response:
        simulator = self.simulator
        return Response.json_obj({
            "flavour": simulator.config.flavour,
            "base_url": simulator.base_url,
            "endpoints": simulator.endpoint_names(),
            "spaces": len(simulator.site.spaces),
            "content": len(simulator.site.content),
        })

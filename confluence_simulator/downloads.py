"""Attachment bytes: the download servlet (`/download/attachments/...`) and Cloud's media redirect target.

Data Center streams the file from the servlet itself. Cloud no longer serves the servlet to API clients: since
2026 (CHANGE-2735, "Deprecation of /download/attachments/ APIs") it answers an API token there with 401 and
`WWW-Authenticate: OAuth`, while the links in `_links.download` / `downloadLink` still name it (they are for browsers,
which carry a session). API clients download through the v1 endpoint
`/wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download`, which answers with a 302 to the media service;
the simulator's media URL lives on the same server (`/media/file/<token>/binary`) and, like Atlassian's media service,
needs no Authorization header: the signed token in the URL is the credential. Clients must therefore follow redirects
and must not depend on sending credentials to the media URL.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from confluence_simulator.model import Content
from confluence_simulator.pagination import parse_int
from confluence_simulator.routes import ApiError, Request, Response
from confluence_simulator.state import ServerState


class Downloads:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.site = state.site

    def attachment(self, request: Request) -> Response:
        """GET {base}/download/attachments/{containerId}/{fileName}?version=N"""
        if self.state.cloud:
            raise ApiError(401, "Unauthorized", headers=[("WWW-Authenticate", f'OAuth realm="{self.state.urls.base}"')])
        container_raw = request.params["container"]
        file_name = unquote(request.params["filename"])
        user = request.user
        assert user is not None
        try:
            container_id = int(container_raw)
        except ValueError as exc:
            raise ApiError(404, "Attachment not found") from exc
        attachment = self._find(container_id, file_name)
        if attachment is None or not self.state.queries.can_see(user, attachment):
            raise ApiError(404, "Attachment not found")
        version = parse_int(request, "version", attachment.versions[-1].number)
        if (attachment.id, version) not in self.site.blobs:
            raise ApiError(404, f"Attachment version {version} not found")
        return self._bytes(attachment, version)

    def media(self, request: Request) -> Response:
        """Cloud media URL: the token names (attachment id, version); no other credential is needed."""
        decoded = self.state.read_media_token(request.params["token"])
        if decoded is None:
            raise ApiError(404, "Unknown or expired media token")
        attachment = self.site.content.get(decoded[0])
        if attachment is None or decoded not in self.site.blobs:
            raise ApiError(404, "File not found")
        return self._bytes(attachment, decoded[1])

    def _find(self, container_id: int, file_name: str) -> Content | None:
        content = self.site.content
        for attachment_id in self.site.child_ids(container_id, "attachment"):
            item = content.get(attachment_id)
            if item is not None and item.title == file_name and item.status in ("current", "archived"):
                return item
        return None

    def _bytes(self, attachment: Content, version: int) -> Response:
        data = self.site.blobs[(attachment.id, version)]
        disposition = f"attachment; filename*=UTF-8''{quote(attachment.title)}"
        return Response(
            status=200,
            body=data,
            content_type=attachment.media_type or "application/octet-stream",
            headers=[("Content-Disposition", disposition)],
        )

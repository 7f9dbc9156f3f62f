"""Raw Confluence API objects (v1 and v2) -> the search documents of the index contract.

Two steps, so both API generations share one document layout: `facts_from_v1_*` / `facts_from_v2_*` read an API
object into `ContentFacts` (only reading, no requests), and `DocumentBuilder.content` turns facts into the document
dict (converting the body and resolving names from caches). Ids are the contract's `"<type>-<confluence id>"`, and
every reference to another document (ancestors, parent, parent comment) uses that same id form, so a reference can
be looked up in the index directly. Timestamps are normalised to UTC ISO-8601 with an explicit offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import unquote

from .body_conversion import BodyJob, attachment_download_url, blog_display_url, display_url, link_keys
from .storage_format import ConvertedBody, convert_storage
from .users import UserDirectory, display_name, mentioned_users, user_id

JsonObject = dict[str, Any]
BREADCRUMB_SEPARATOR = " › "


def _columns(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"data_type": data_type, "nullable": True} for name, data_type in types.items()}


# Column types of every table, declared so that dlt never has to guess from data (a column that is null in a whole
# load would otherwise be dropped with a warning). Timestamps stay ISO-8601 text, as the index contract says.
COMMON_COLUMNS: dict[str, dict[str, Any]] = {
    "id": {"data_type": "text", "nullable": False, "primary_key": True},
    "deleted": {"data_type": "bool", "nullable": True, "hard_delete": True},
    **_columns(
        type="text", confluence_id="text", title="text", url="text", space_key="text", space_name="text",
        created_at="text", updated_at="text", version="bigint", status="text", author_name="text",
        author_id="text", labels="json", site_url="text",
    ),
}
_TREE_COLUMNS = _columns(ancestor_ids="json", ancestor_titles="json", breadcrumb="text")
_PARENT_COLUMNS = _columns(parent_id="text", parent_type="text", parent_title="text", parent_url="text")
COLUMNS_BY_TYPE: dict[str, dict[str, dict[str, Any]]] = {
    "space": {**COMMON_COLUMNS, **_columns(description="text", space_type="text")},
    "page": {**COMMON_COLUMNS, **_TREE_COLUMNS, **_columns(body="text", body_markdown="text", parent_id="text")},
    "blogpost": {**COMMON_COLUMNS, **_TREE_COLUMNS, **_columns(body="text", body_markdown="text")},
    "comment": {
        **COMMON_COLUMNS, **_TREE_COLUMNS, **_PARENT_COLUMNS,
        **_columns(body="text", body_markdown="text", comment_location="text", parent_comment_id="text",
                   resolution_status="text", inline_selection="text"),
    },
    "attachment": {
        **COMMON_COLUMNS, **_TREE_COLUMNS, **_PARENT_COLUMNS,
        **_columns(file_name="text", media_type="text", file_size="bigint", download_url="text", comment="text",
                   body="text", content_extraction="text", content_extractor="text"),
    },
}


def json_object(raw: Any, key: str) -> JsonObject:
    """`raw[key]` when it is a JSON object, else an empty one (API objects omit what was not expanded)."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# Key of a document whose body is still being converted in a worker; removed by `finish_body` before dlt sees it.
PENDING_BODY = "__pending_body"


def doc_id(doc_type: str, confluence_id: Any) -> str:
    return f"{doc_type}-{confluence_id}"


def iso_utc(value: Any) -> str | None:
    """Any ISO-8601 timestamp Confluence sends (`Z` on Cloud, server offset on Data Center) as UTC with offset."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SpaceInfo:
    """What the readers know about one space (from the space listing)."""

    id: str
    key: str
    name: str
    type: str | None = None
    status: str | None = None
    url: str | None = None
    description: str | None = None
    created_at: str | None = None
    author_id: str | None = None


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another document: its index id, title, type and web URL."""

    doc_type: str
    confluence_id: str
    title: str
    url: str | None = None

    @property
    def doc_id(self) -> str:
        return doc_id(self.doc_type, self.confluence_id)


@dataclass
class ContentFacts:
    """Everything a content document is made of, read from either API generation."""

    doc_type: str
    confluence_id: str
    title: str
    status: str
    space_key: str | None
    space_name: str | None
    url: str | None
    created_at: str | None
    updated_at: str | None
    version: int | None
    author_id: str | None
    author_name: str | None
    labels: list[str] = field(default_factory=list)
    storage: str | None = None
    # page ancestry, root first; for comments and attachments it ends with the container page/blog post
    ancestors: list[Ref] = field(default_factory=list)
    parent: Ref | None = None  # pages: parent page; comments/attachments: the container
    extras: JsonObject = field(default_factory=dict)  # type-specific fields (comment location, file size, ...)

    def mentions(self) -> set[tuple[str, str]]:
        return mentioned_users(self.storage)


# ---- v1 (Server/Data Center, and Cloud CQL search) -----------------------------------------------------------------

def label_names(metadata: Any) -> list[str]:
    """Label names from v1 `metadata.labels` (prefix `my`/`team` kept, as Confluence shows them), sorted: documents
    carry labels in one order however they were read (Cloud's full reads assemble them from label listings)."""
    labels = json_object(json_object({"metadata": metadata}, "metadata"), "labels").get("results") or []
    names: list[str] = []
    for label in labels:
        if not isinstance(label, dict):
            continue
        name = label.get("name") or label.get("label")
        prefix = label.get("prefix")
        if isinstance(name, str) and name:
            full = f"{prefix}:{name}" if prefix in ("my", "team") else name
            if full not in names:
                names.append(full)
    return sorted(names)


def _space_key_from_link(link: Any) -> str | None:
    """The space key of an unexpanded `space` (`_expandable.space` is `/rest/api/space/KEY`), so body-less listings
    need not pay for the space expansion."""
    if not isinstance(link, str) or "/space/" not in link:
        return None
    return unquote(link.rstrip("/").rsplit("/", 1)[-1]) or None


def facts_from_v1(raw: JsonObject, web_url: Callable[[str | None], str | None]) -> ContentFacts:
    """A v1 content object expanded with body.storage, version, space, history, metadata.labels, ancestors and
    container (plus container.ancestors for comments and attachments)."""
    doc_type = str(raw.get("type") or "")
    space = json_object(raw, "space")
    version = json_object(raw, "version")
    history = json_object(raw, "history")
    # A comment's or file's author is whoever made the indexed version: Cloud's v2 listings (full reads) name no one
    # else, and an incremental read (v1) must write the same author as a full one.
    latest_author = doc_type in ("comment", "attachment")
    creator = (version.get("by") or history.get("createdBy")) if latest_author else history.get("createdBy")
    links = json_object(raw, "_links")
    facts = ContentFacts(
        doc_type=doc_type,
        confluence_id=str(raw.get("id")),
        title=str(raw.get("title") or ""),
        status=str(raw.get("status") or "current"),
        space_key=space.get("key") or _space_key_from_link(json_object(raw, "_expandable").get("space")),
        space_name=space.get("name"),
        url=web_url(links.get("webui")),
        created_at=iso_utc(history.get("createdDate"))
        or (iso_utc(version.get("when")) if version.get("number") == 1 else None),
        updated_at=iso_utc(version.get("when")),
        version=version.get("number") if isinstance(version.get("number"), int) else None,
        author_id=user_id(creator) or user_id(version.get("by")),
        author_name=display_name(creator) or display_name(version.get("by")),
        labels=label_names(raw.get("metadata")),
        storage=_v1_storage(raw),
    )
    extensions = json_object(raw, "extensions")
    if doc_type in ("page", "blogpost"):
        facts.ancestors = [_v1_ref(item, web_url) for item in raw.get("ancestors") or [] if isinstance(item, dict)]
        if doc_type == "page" and facts.ancestors:
            facts.parent = facts.ancestors[-1]
        return facts
    container = json_object(raw, "container") or None
    if container is not None and container.get("type") in ("page", "blogpost", "attachment", "comment"):
        facts.parent = _v1_ref(container, web_url)
        chain = [_v1_ref(item, web_url) for item in container.get("ancestors") or [] if isinstance(item, dict)]
        facts.ancestors = [ref for ref in chain if ref.doc_type in ("page", "blogpost", "folder")] + [facts.parent]
    if doc_type == "comment":
        comment_ancestors = [item for item in raw.get("ancestors") or [] if isinstance(item, dict)]
        parent_comment = comment_ancestors[-1] if comment_ancestors else None
        resolution = json_object(extensions, "resolution")
        inline = json_object(extensions, "inlineProperties")
        location = extensions.get("location") or ("inline" if inline else "footer")
        facts.extras = {
            "comment_location": location,
            "parent_comment_id": doc_id("comment", parent_comment["id"]) if parent_comment else None,
            "resolution_status": resolution.get("status") if location == "inline" else None,
            "inline_selection": inline.get("originalSelection") or None,
        }
    elif doc_type == "attachment":
        metadata = json_object(raw, "metadata")
        facts.extras = {
            "file_name": facts.title,
            "media_type": extensions.get("mediaType") or metadata.get("mediaType"),
            "file_size": extensions.get("fileSize"),
            "download_url": web_url(links.get("download")),
            "comment": extensions.get("comment") or None,
        }
    return facts


def _v1_storage(raw: JsonObject) -> str | None:
    return _text(json_object(json_object(raw, "body"), "storage").get("value"))


def _v1_ref(item: JsonObject, web_url: Callable[[str | None], str | None]) -> Ref:
    links = json_object(item, "_links")
    return Ref(
        doc_type=str(item.get("type") or "page"),
        confluence_id=str(item.get("id")),
        title=str(item.get("title") or ""),
        url=web_url(links.get("webui")),
    )


def space_from_v1(raw: JsonObject, web_url: Callable[[str | None], str | None]) -> SpaceInfo:
    description = json_object(raw, "description")
    plain = json_object(description, "plain")
    history = json_object(raw, "history")
    links = json_object(raw, "_links")
    return SpaceInfo(
        id=str(raw.get("id")),
        key=str(raw.get("key")),
        name=str(raw.get("name") or raw.get("key")),
        type=raw.get("type"),
        status=raw.get("status") or "current",
        url=web_url(links.get("webui")),
        description=(plain.get("value") or None),
        created_at=iso_utc(history.get("createdDate")),
        author_id=user_id(history.get("createdBy")),
    )


# ---- v2 (Cloud) ---------------------------------------------------------------------------------------------------

def space_from_v2(raw: JsonObject, web_url: Callable[[str | None], str | None]) -> SpaceInfo:
    description = json_object(raw, "description")
    plain = json_object(description, "plain")
    links = json_object(raw, "_links")
    return SpaceInfo(
        id=str(raw.get("id")),
        key=str(raw.get("key")),
        name=str(raw.get("name") or raw.get("key")),
        type=raw.get("type"),
        status=raw.get("status") or "current",
        url=web_url(links.get("webui")),
        description=(plain.get("value") or None),
        created_at=iso_utc(raw.get("createdAt")),
        author_id=raw.get("authorId"),
    )


def v2_storage(raw: JsonObject) -> str | None:
    """The storage-format body of a v2 object listed with `body-format=storage`."""
    return _text(json_object(json_object(raw, "body"), "storage").get("value"))


def facts_from_v2(
    raw: JsonObject,
    doc_type: str,
    space: SpaceInfo | None,
    web_url: Callable[[str | None], str | None],
    labels: list[str],
) -> ContentFacts:
    """The common part of a v2 page, blog post, comment or attachment; ancestry and parent are set by the caller."""
    version = json_object(raw, "version")
    links = json_object(raw, "_links")
    number = version.get("number") if isinstance(version.get("number"), int) else None
    created = iso_utc(raw.get("createdAt")) or (iso_utc(version.get("createdAt")) if number == 1 else None)
    return ContentFacts(
        doc_type=doc_type,
        confluence_id=str(raw.get("id")),
        title=str(raw.get("title") or ""),
        status=str(raw.get("status") or "current"),
        space_key=space.key if space else None,
        space_name=space.name if space else None,
        url=web_url(links.get("webui") or raw.get("webuiLink")),
        created_at=created,
        updated_at=iso_utc(version.get("createdAt")),
        version=number,
        author_id=raw.get("authorId") or version.get("authorId"),
        author_name=None,
        labels=list(labels),
        storage=v2_storage(raw),
    )


def v2_comment_extras(raw: JsonObject, location: str) -> JsonObject:
    properties = json_object(raw, "properties")
    parent_comment = raw.get("parentCommentId")
    return {
        "comment_location": location,
        "parent_comment_id": doc_id("comment", parent_comment) if parent_comment else None,
        "resolution_status": raw.get("resolutionStatus") if location == "inline" else None,
        "inline_selection": properties.get("inlineOriginalSelection") or None,
    }


def v2_attachment_extras(raw: JsonObject, web_url: Callable[[str | None], str | None]) -> JsonObject:
    links = json_object(raw, "_links")
    return {
        "file_name": str(raw.get("title") or ""),
        "media_type": raw.get("mediaType"),
        "file_size": raw.get("fileSize"),
        "download_url": web_url(raw.get("downloadLink") or links.get("download")),
        "comment": raw.get("comment") or None,
    }


# ---- outlines (what changes without a new version) ------------------------------------------------------------

@dataclass(frozen=True)
class Outline:
    """What a body-less listing shows of an item and what changes without a new version (edits, which do create
    one, are the change window's business)."""

    title: str
    space_key: str | None
    labels: tuple[str, ...]  # sorted: label order carries no meaning
    ancestor_ids: tuple[str, ...]
    ancestor_titles: tuple[str, ...]

    @classmethod
    def of_facts(cls, facts: "ContentFacts") -> "Outline":
        return cls(
            title=facts.title,
            space_key=facts.space_key,
            labels=tuple(sorted(facts.labels)),
            ancestor_ids=tuple(ref.doc_id for ref in facts.ancestors),
            ancestor_titles=tuple(ref.title for ref in facts.ancestors),
        )

    @classmethod
    def of_document(cls, source: Mapping[str, Any]) -> "Outline":
        """The outline of an indexed document (its `_source`)."""
        return cls(
            title=str(source.get("title") or ""),
            space_key=source.get("space_key"),
            labels=tuple(sorted(_strings(source.get("labels")))),
            ancestor_ids=tuple(_strings(source.get("ancestor_ids"))),
            ancestor_titles=tuple(_strings(source.get("ancestor_titles"))),
        )

    def reshapes_dependents(self, other: "Outline") -> bool:
        """Whether going from `other` to this outline changes what hangs below: titles and breadcrumbs."""
        return (self.title, self.space_key, self.ancestor_ids, self.ancestor_titles) != (
            other.title, other.space_key, other.ancestor_ids, other.ancestor_titles
        )


# Where an archived page sits (see `archived_pages.py`): its ancestors as (document id, title), root first.
Ancestry = tuple[tuple[str, str], ...]


def outline_from_v1(raw: JsonObject) -> tuple[str, str, Outline]:
    """(type, Confluence id, outline) of a v1 content object expanded with `metadata.labels` and `ancestors`: the
    same values `facts_from_v1` gives, without the dates, links and names a body-less comparison does not need."""
    ancestors = [item for item in raw.get("ancestors") or [] if isinstance(item, dict)]
    outline = Outline(
        title=str(raw.get("title") or ""),
        space_key=(json_object(raw, "space").get("key")
                   or _space_key_from_link(json_object(raw, "_expandable").get("space"))),
        labels=tuple(sorted(label_names(raw.get("metadata")))),
        ancestor_ids=tuple(doc_id(str(item.get("type") or "page"), item.get("id")) for item in ancestors),
        ancestor_titles=tuple(str(item.get("title") or "") for item in ancestors),
    )
    return str(raw.get("type") or ""), str(raw.get("id")), outline


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if item is not None]
    return []


# ---- documents ----------------------------------------------------------------------------------------------------

class DocumentBuilder:
    """Turns facts into contract documents; owns body conversion and name resolution (cache lookups only)."""

    def __init__(
        self,
        site_url: str,
        web_base: str,
        users: UserDirectory,
        title_link: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self.site_url = site_url
        self.web_base = web_base.rstrip("/")
        self.users = users
        # (space key, title) -> URL of a page known in this run, for links written as `ri:page ri:content-title`
        self.title_link: Callable[[str, str], str | None] = title_link or (lambda space_key, title: None)

    def space(self, info: SpaceInfo) -> JsonObject:
        return {
            "id": doc_id("space", info.id),
            "type": "space",
            "confluence_id": info.id,
            "title": info.name,
            "url": info.url,
            "space_key": info.key,
            "space_name": info.name,
            "description": info.description,
            "space_type": info.type,
            "status": info.status,
            "created_at": info.created_at,
            "author_id": info.author_id,
            "author_name": self.users.name(info.author_id),
            "site_url": self.site_url,
        }

    def content(self, facts: ContentFacts, convert: bool = True) -> JsonObject:
        """The document for one page, blog post, comment or attachment (names must be resolved beforehand);
        with `convert=False` the body is left for a worker (see `body_job`)."""
        document: JsonObject = {
            "id": doc_id(facts.doc_type, facts.confluence_id),
            "type": facts.doc_type,
            "confluence_id": facts.confluence_id,
            "title": facts.title,
            "url": facts.url,
            "space_key": facts.space_key,
            "space_name": facts.space_name,
            "created_at": facts.created_at,
            "updated_at": facts.updated_at,
            "version": facts.version,
            "status": facts.status,
            "author_id": facts.author_id,
            "author_name": facts.author_name or self.users.name(facts.author_id),
            "labels": list(facts.labels),
            "site_url": self.site_url,
            "ancestor_ids": [ref.doc_id for ref in facts.ancestors],
            "ancestor_titles": [ref.title for ref in facts.ancestors],
            "breadcrumb": BREADCRUMB_SEPARATOR.join(
                [facts.space_name or facts.space_key or ""] + [ref.title for ref in facts.ancestors]
            ).strip(),
        }
        if has_body(facts.doc_type) and convert:
            converted = self.convert_body(facts)
            document["body"] = converted.text
            document["body_markdown"] = converted.markdown
        if facts.doc_type == "page":
            document["parent_id"] = facts.parent.doc_id if facts.parent else None
        elif facts.doc_type in ("comment", "attachment"):
            parent = facts.parent
            document["parent_id"] = parent.doc_id if parent else None
            document["parent_type"] = parent.doc_type if parent else None
            document["parent_title"] = parent.title if parent else None
            document["parent_url"] = parent.url if parent else None
            document.update(facts.extras)
            if facts.doc_type == "comment" and not facts.title and parent is not None:
                document["title"] = f"Re: {parent.title}"
        return document

    def convert_body(self, facts: ContentFacts) -> ConvertedBody:
        """The text and Markdown of an item's body, in this process (also the redo of a worker's conversion, so
        that both give the same result)."""
        return self.convert(facts.storage, facts.space_key, attachments_of(facts))

    def convert(self, storage: str | None, space_key: str | None, attachments_of: str | None = None) -> ConvertedBody:
        """Text and Markdown of a body in `space_key`; `attachments_of`: the page or blog post id whose attachments it
        names by file name alone (its own, or for a comment its container's)."""
        if not storage:
            return ConvertedBody("", "")
        return convert_storage(
            storage,
            user_resolver=self.users.name,
            page_url=lambda title, key: self.page_url(title, key, space_key),
            blog_url=lambda title, key, day: blog_display_url(self.web_base, key or space_key, day, title),
            attachment_url=lambda name: (attachment_download_url(self.web_base, attachments_of, name)
                                         if attachments_of else None),
            web_base=self.web_base,
        )

    def page_url(self, title: str, key: str | None, space_key: str | None) -> str | None:
        """The URL of a page linked by title (`key`: the space named in the link; else the body's own space)."""
        target_space = key or space_key
        if not target_space:
            return None
        return self.title_link(target_space, title) or display_url(self.web_base, target_space, title)

    def body_job(self, facts: ContentFacts) -> BodyJob:
        """The conversion of one body as a job for a worker process, with the lookups it needs resolved here."""
        storage = facts.storage or ""
        return BodyJob(
            storage=storage,
            space_key=facts.space_key,
            links={(title, key): self.page_url(title, key, facts.space_key) for title, key in link_keys(storage)},
            users={value: self.users.name(value) for _, value in facts.mentions()},
            attachments_of=attachments_of(facts),
        )


def attachments_of(facts: ContentFacts) -> str | None:
    """The id of the page or blog post whose attachments a body names by file name alone: a page's or blog post's
    own; a comment's container's (files added while writing a comment are attached to the page)."""
    if facts.doc_type in ("page", "blogpost"):
        return facts.confluence_id
    parent = facts.parent
    if facts.doc_type == "comment" and parent is not None and parent.doc_type in ("page", "blogpost"):
        return parent.confluence_id
    return None


def has_body(doc_type: str) -> bool:
    return doc_type in ("page", "blogpost", "comment")


def finish_body(document: JsonObject) -> JsonObject:
    """Fill in the body of a document whose body a worker was still converting (a page's, blog post's or comment's)
    or whose file was still being downloaded and read (an attachment's text); waits for it."""
    pending = document.pop(PENDING_BODY, None)
    if pending is not None:
        pending.fill(document)
    return document

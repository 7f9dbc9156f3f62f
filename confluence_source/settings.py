"""Constants of the Confluence source: API paths, page sizes, expansions and the defaults of tunable settings.

Kept in one place so that a change of Atlassian's limits (page sizes, expansion lists) is a one-line edit, and so that
tests can refer to the same paths the readers call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

# ---- deployment flavours ----------------------------------------------------------------------------------------
CLOUD: Final = "cloud"
DATA_CENTER: Final = "datacenter"

# What users may write for `data_source` (compared case-insensitively, spaces and dashes ignored).
DATA_SOURCE_ALIASES: Final[dict[str, str]] = {
    "confluencecloud": CLOUD,
    "cloud": CLOUD,
    "confluenceserver": DATA_CENTER,
    "server": DATA_CENTER,
    "confluencedatacenter": DATA_CENTER,
    "datacenter": DATA_CENTER,
    "dc": DATA_CENTER,
}
DEFAULT_DATA_SOURCE: Final = "Confluence Server"

# ---- API roots ---------------------------------------------------------------------------------------------------
CLOUD_WIKI_PREFIX: Final = "/wiki"
# Atlassian's API gateway serves a Cloud site under {gateway}/ex/confluence/{cloudId}; the site tells its cloud id.
GATEWAY_PATH: Final = "/ex/confluence/"
TENANT_INFO: Final = "/_edge/tenant_info"
ATLASSIAN_API_GATEWAY: Final = "https://api.atlassian.com"
# OAuth 2.0 client credentials (service accounts): Atlassian's token endpoint for Cloud (whose tokens are accepted
# only through the gateway), and the path of Data Center's own, under the site URL. Tokens live about an hour.
CLOUD_OAUTH_TOKEN_URL: Final = "https://auth.atlassian.com/oauth/token"
DC_OAUTH_TOKEN_PATH: Final = "/rest/oauth2/latest/token"
DC_OAUTH_DEFAULT_SCOPE: Final = "READ"
CLOUD_V1_ROOT: Final = "/wiki/rest/api"
CLOUD_V2_ROOT: Final = "/wiki/api/v2"
DC_V1_ROOT: Final = "/rest/api"

# ---- endpoints (relative to the API root of their flavour) -------------------------------------------------------
CURRENT_USER: Final = "/user/current"
CONTENT_SEARCH: Final = "/content/search"
CONTENT_BY_ID: Final = "/content/{content_id}"
SEARCH: Final = "/search"
DC_CONTENT_SCAN: Final = "/content/scan"
DC_SPACES: Final = "/space"
DC_USER: Final = "/user"

V2_SPACES: Final = "/spaces"
V2_PAGES: Final = "/pages"
V2_SPACE_PAGES: Final = "/spaces/{space_id}/pages"
V2_SPACE_BLOGPOSTS: Final = "/spaces/{space_id}/blogposts"
V2_BLOGPOSTS: Final = "/blogposts"
V2_FOOTER_COMMENTS: Final = "/footer-comments"
V2_INLINE_COMMENTS: Final = "/inline-comments"
V2_ATTACHMENTS: Final = "/attachments"
V2_ATTACHMENT: Final = "/attachments/{attachment_id}"
V2_FOLDER: Final = "/folders/{folder_id}"
V2_LABELS: Final = "/labels"
V2_LABEL_CONTENT: Final = "/labels/{label_id}/{content_kind}"  # content_kind: pages | blogposts | attachments
V2_USERS_BULK: Final = "/users-bulk"

# ---- page sizes --------------------------------------------------------------------------------------------------
# v2 accepts 1..250 on every list endpoint (400 above).
V2_PAGE_SIZE: Final = 250
# v1 silently caps `limit` (DC: 50 with a body expansion, 200 with other expansions, 1000 without); asking for more
# than the cap is harmless because the readers advance by what the server returned.
V1_PAGE_SIZE_WITH_BODY: Final = 100
V1_PAGE_SIZE_NO_BODY: Final = 1000
V1_SPACES_PAGE_SIZE: Final = 500
CLOUD_USERS_BULK_MAX: Final = 250
# Per-space listings of a full read opened ahead of the one being consumed, and the pages each may fetch ahead.
LISTINGS_AHEAD: Final = 2
LISTING_READ_AHEAD_PAGES: Final = 2
# Queries an outline listing (label and page-tree check) is split into, run side by side.
OUTLINE_QUERIES: Final = 4
# Items (as the index counts them) a listing holds before it is worth another query beside it: five responses.
OUTLINE_ITEMS_PER_QUERY: Final = 1000
# Content ids per CQL `id in (...)` clause (re-reading items whose labels or place in the tree changed).
CQL_ID_BATCH: Final = 100
# Space keys per CQL `space in (...)` clause.
CQL_SPACE_BATCH: Final = 100
# v2 label listings accept at most 100 space ids.
V2_MAX_SPACE_IDS: Final = 100

# ---- expansions ----------------------------------------------------------------------------------------------------
# v1 expansions per content type: everything a document needs, so a listed item needs no further request.
# Comments and attachments also expand their container's ancestry (for breadcrumbs).
V1_EXPAND: Final[dict[str, str]] = {
    "page": "body.storage,version,space,history,metadata.labels,ancestors",
    "blogpost": "body.storage,version,space,history,metadata.labels,ancestors",
    "comment": (
        "body.storage,version,space,history,metadata.labels,ancestors,container,container.ancestors,"
        "extensions.inlineProperties,extensions.resolution"
    ),
    "attachment": "version,space,history,metadata.labels,container,container.ancestors",
}
# Body-less outline of pages and blog posts: what shows a label, title or page-tree change (the space key comes
# from the unexpanded `space` link).
V1_OUTLINE_EXPAND: Final = "metadata.labels,ancestors"
# Body-less listing of labels alone (attachments in the check above; Cloud's label search).
V1_LABELS_EXPAND: Final = "metadata.labels"
# One item read by id to confirm it is gone from a scope: its space, and the container whose status decides too.
V1_CONFIRM_EXPAND: Final = "space,container"
DC_SPACE_EXPAND: Final = "description.plain"

# ---- behaviour defaults ----------------------------------------------------------------------------------------------
DEFAULT_SPACES: Final = "*"
DEFAULT_RETRY_COUNT: Final = 3
DEFAULT_CONCURRENT_DOWNLOADS: Final = 50
DEFAULT_REQUEST_TIMEOUT: Final = 30.0
# Upper bounds of the time settings: a day for any wait or timeout, a year of change-window overlap (larger values
# only overflow date arithmetic; no site needs them).
MAX_SECONDS_SETTING: Final = 86_400.0
MAX_OVERLAP_MINUTES: Final = 525_600
DEFAULT_OVERLAP_MINUTES: Final = 10
# How much further back change windows reach when the time zone of CQL date literals is a UTC offset inferred from a
# timestamp the server rendered (Data Center, an account without a profile zone): that offset may be from the other
# side of a daylight-saving change, and an hour's shift between two runs would open a gap between their windows.
INFERRED_ZONE_MARGIN: Final = timedelta(hours=1)
# First retry waits about this long; each further retry doubles it (with +/-30% jitter).
DEFAULT_BACKOFF_SECONDS: Final = 1.0
# Upper bound of any single wait, including a server's Retry-After (garbage values such as 2^63 are clamped).
DEFAULT_MAX_RETRY_DELAY: Final = 60.0
# While Confluence reports X-RateLimit-NearLimit, requests start at most this often (seconds between starts).
NEAR_LIMIT_INTERVAL: Final = 0.5
# How long the slow-down lasts after the last NearLimit answer.
NEAR_LIMIT_HOLD_SECONDS: Final = 30.0

# ---- attachment text ---------------------------------------------------------------------------------------------
# Files above this size are indexed without their text (the reference connector's rule): `max_file_download_size`.
MAX_ATTACHMENT_BYTES: Final = 10 * 1024 * 1024
# The largest `max_file_download_size` accepted: a file is held in memory whole while its text is read.
MAX_ATTACHMENT_BYTES_LIMIT: Final = 1024 * 1024 * 1024
# File bytes held in memory at once by all downloads together (a single larger file is still read, alone).
DOWNLOAD_BUFFER_BYTES: Final = 64 * 1024 * 1024
# Characters of text kept per file (about 60 pages of a book): `max_file_text_length`. Documents travel in batches of
# 250 through dlt and the sink, so this bounds what a batch of attachments holds in memory (~50 MB of text at most).
MAX_EXTRACTED_CHARS: Final = 200_000
# The largest `max_file_text_length` accepted (some 3,000 pages of a book).
MAX_EXTRACTED_CHARS_LIMIT: Final = 10_000_000
# The largest `concurrent_downloads` accepted: download threads, and the size of their connection pool.
MAX_DOWNLOAD_THREADS: Final = 100
# One file's extraction is abandoned after this long (the file is indexed without its text).
EXTRACTION_TIMEOUT_SECONDS: Final = 60

# Content types the source indexes (space documents come from the spaces resource).
CONTENT_TYPES: Final = ("page", "blogpost", "comment", "attachment")

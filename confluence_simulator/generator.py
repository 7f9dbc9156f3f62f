"""Deterministic generation of a realistic Confluence site from (seed, size).

The same `DatasetSpec` always yields the same site, byte for byte (titles, bodies, ids, timestamps, files), so a test
can compute what the index must contain. The site holds the cases a sync job gets wrong in practice: deep page trees,
drafts, trashed and archived content, an archived space, a space and a page tree the API user cannot read
(restrictions inherited from a restricted parent), inline and footer comments with replies, attachments with several
versions, a corrupt and an encrypted PDF, a file over 10 MB, very long pages and non-ASCII text.

Sizes count documents the way the ETL indexes them: spaces + pages + blog posts + comments + attachments.
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Literal

from confluence_simulator import files
from confluence_simulator.model import (
    Content,
    Group,
    Restrictions,
    Site,
    Space,
    SpacePermission,
    User,
    Version,
)
from confluence_simulator.storage_bodies import BodyContext, BodySize, StorageBodyWriter, TextPool

PresetName = Literal["small", "medium", "large"]

# The user the simulator's credentials belong to. Fixed (not seed-dependent) so configs and tests can name it.
DEFAULT_ACCOUNT_ID = "557058:0b7e6a52-3c1d-4f8e-9a2b-5d6c7e8f9a01"
DEFAULT_USER_KEY = "8a7f808a8c1e5d2f018c1e5d2f9b0001"
DEFAULT_USERNAME = "sync.bot"
DEFAULT_DISPLAY_NAME = "Sync Bot"
DEFAULT_EMAIL = "sync.bot@example.com"
DEFAULT_PASSWORD = "Simulator-Passw0rd"
DEFAULT_API_TOKEN = "ATATT3xFfGF0SimulatorOnlyApiTokenForSyncBot7c1d9e2f4a6b8c0d=4F1E2A3B"
DEFAULT_PERSONAL_ACCESS_TOKEN = "U2ltdWxhdG9yT25seVBBVEZvclN5bmNCb3Q6MDAwMQ=="
DEFAULT_SCOPED_API_TOKEN = "ATATT3xFfGF0SimulatorOnlyScopedTokenForSyncBot9e8d7c6b5a4f3e2d=1A2B3C4D"
DEFAULT_OAUTH_CLIENT_ID = "SimulatorOnlyClientIdForSyncBot01"
DEFAULT_OAUTH_CLIENT_SECRET = "ATOASimulatorOnlyClientSecretForSyncBot4e5f6a7b8c9d0e1f"
# The site's cloud id (what `/_edge/tenant_info` tells and the gateway's `/ex/confluence/{cloudId}` names).
DEFAULT_CLOUD_ID = "5d0c1a7e-9b3f-4c2d-8e6a-1f2b3c4d5e6f"
DEFAULT_CREDENTIALS: dict[str, str] = {
    "email": DEFAULT_EMAIL,
    "api_token": DEFAULT_API_TOKEN,
    "username": DEFAULT_USERNAME,
    "password": DEFAULT_PASSWORD,
    "pat": DEFAULT_PERSONAL_ACCESS_TOKEN,
    "scoped_api_token": DEFAULT_SCOPED_API_TOKEN,
    "oauth_client_id": DEFAULT_OAUTH_CLIENT_ID,
    "oauth_client_secret": DEFAULT_OAUTH_CLIENT_SECRET,
}

# Group names the site always has (ids are seed-dependent UUIDs).
GROUP_ALL_USERS = "confluence-users"
GROUP_ENGINEERING = "engineering"
GROUP_PRODUCT = "product"
GROUP_FINANCE = "finance"
GROUP_HR = "hr-confidential"
GROUP_ADMINS = "site-admins"
GROUP_QA = "qa/testers"  # a slash in a group name breaks naive URL building
GROUP_CONTRACTORS = "contractors"
_DEFAULT_USER_GROUPS = (GROUP_ALL_USERS, GROUP_ENGINEERING, GROUP_PRODUCT, GROUP_QA)

# Keys of the spaces with a special role (always generated, in this order).
KEY_MAIN = "ENG"  # visible, biggest, holds the tree hidden from the default user
KEY_DOCS = "DOCS"  # visible, also readable anonymously
KEY_HIDDEN = "HR"  # the default user has no space permission at all
KEY_ARCHIVED = "LEGACY"  # status archived

SITE_START = datetime(2019, 1, 14, 8, 0, tzinfo=timezone.utc)
SITE_END = datetime(2025, 12, 30, 18, 0, tzinfo=timezone.utc)  # every generated timestamp is before 2026-01-01


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate. A preset sets all counts; any count given explicitly overrides the preset's value."""

    seed: int = 1
    preset: PresetName = "small"
    users: int | None = None
    global_spaces: int | None = None
    personal_spaces: int | None = None
    pages: int | None = None
    blogposts: int | None = None
    comments: int | None = None
    attachments: int | None = None
    huge_pages: int | None = None  # pages whose body exceeds 200 KB

    def resolved(self) -> "DatasetSpec":
        """The spec with every count filled in from the preset, and raised to what the special cases need
        (4 global spaces with special roles, 1 personal space, 3 users)."""
        base = PRESETS[self.preset]
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("seed", "preset")}
        counts = {name: getattr(base, name) if value is None else value for name, value in values.items()}
        for name, minimum in _MINIMUMS.items():
            counts[name] = max(minimum, counts[name])
        return replace(self, **counts)

    @property
    def document_count(self) -> int:
        """Documents the ETL would index: spaces, pages, blog posts, comments and attachments."""
        spec = self.resolved()
        return sum((spec.global_spaces or 0, spec.personal_spaces or 0, spec.pages or 0, spec.blogposts or 0,
                    spec.comments or 0, spec.attachments or 0))


_MINIMUMS = {"users": 3, "global_spaces": 4, "personal_spaces": 1}
PRESETS: dict[str, DatasetSpec] = {
    "small": DatasetSpec(preset="small", users=12, global_spaces=6, personal_spaces=2, pages=450, blogposts=80,
                         comments=300, attachments=162, huge_pages=2),
    "medium": DatasetSpec(preset="medium", users=40, global_spaces=14, personal_spaces=6, pages=4500, blogposts=800,
                          comments=3000, attachments=1680, huge_pages=4),
    "large": DatasetSpec(preset="large", users=120, global_spaces=36, personal_spaces=14, pages=45000,
                         blogposts=8000, comments=30000, attachments=16950, huge_pages=8),
}

_SPACE_CATALOGUE = (
    (KEY_MAIN, "Engineering"), (KEY_DOCS, "Product Documentation"), (KEY_HIDDEN, "People & HR"),
    (KEY_ARCHIVED, "Legacy Wiki"), ("OPS", "Operations"), ("MKT", "Marketing"), ("FIN", "Finance"),
    ("SUP", "Customer Support"), ("SEC", "Security"), ("DATA", "Data Platform"), ("PM", "Product Management"),
    ("QA", "Quality Assurance"), ("DES", "Design"), ("LEGAL", "Legal"), ("IT", "IT Helpdesk"), ("RND", "R&D Lab"),
    ("INTL", "Международный отдел"), ("APAC", "アジア太平洋チーム"), ("SALES", "Sales"), ("HELLAS", "Ομάδα Αθήνας"),
)
_FIRST_NAMES = ("Ana", "Bo", "Chen", "Dmitri", "Émile", "Fatima", "Giulia", "Hiro", "Ingrid", "José", "Kwame",
                "Léa", "Mei", "Nikolai", "Olga", "Priya", "Quentin", "Rania", "Søren", "Tomás", "Uma", "Viktor",
                "Wen", "Xavier", "Yara", "Zoë", "Ахмед", "王", "Σοφία", "Björn")
_LAST_NAMES = ("Alvarez", "Bauer", "Chowdhury", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ito",
               "Jansen", "Kowalski", "Lindqvist", "Müller", "Nakamura", "O'Brien", "Petrov", "Quinn", "Rossi",
               "Schmidt", "Tanaka", "Ulrich", "Vargas", "Wójcik", "Xu", "Yilmaz", "Zhang", "Иванова", "芳")
_TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata",
              "America/Los_Angeles", "Europe/London", "America/Sao_Paulo", "Pacific/Auckland", "Asia/Kathmandu")
_LABELS = ("architecture", "how-to", "meeting-notes", "runbook", "decision", "retrospective", "onboarding",
           "kb-article", "faq", "release-notes", "q1-2025", "q2-2025", "q3-2025", "security", "compliance",
           "draft-review", "customer-facing", "internal", "api", "incident", "postmortem", "roadmap", "budget",
           "design-system", "okr", "документация", "設計", "important", "deprecated", "needs-update")
_TITLE_NOUNS = ("Gateway", "Pipeline", "Cluster", "Billing", "Search", "Indexer", "Onboarding", "Roadmap", "Budget",
                "Release", "Backup", "Monitoring", "Alerting", "Authentication", "Storage", "Network", "Payments",
                "Analytics", "Mobile App", "Data Warehouse", "Support Desk", "Vendor", "Hiring", "Compliance")
_TITLE_KINDS = ("Runbook", "Overview", "Design", "FAQ", "Troubleshooting", "Requirements", "Checklist", "Guide",
                "Architecture", "Status", "Retrospective", "Post-mortem", "Playbook", "Glossary", "Plan")
_FOREIGN_TITLES = ("Руководство по развёртыванию", "部署指南", "デプロイ手順", "Οδηγός εγκατάστασης", "دليل النشر",
                   "Übersicht der Dienste", "Procédure de sauvegarde", "배포 가이드", "Отчёт за квартал")
_ODD_TITLES = ("R&D budget <draft>", "C++ / Rust interop", "100% uptime: \"myth\" or goal?", "What's new in 4.2",
               "Ärger mit Umlauten", "a/b testing & feature flags", "Tabs\tand  spaces", "#1 priority: fix CI")
_BLOG_PATTERNS = ("Release {n} is out", "Weekly update {date}", "Welcome to the team, {name}!",
                  "Lessons learned from incident {n}", "Town hall recap {date}", "Engineering spotlight: {noun}",
                  "How we cut {noun} costs by {pct}%", "Notes from the {noun} offsite")
_FILE_STEMS: dict[str, tuple[str, ...]] = {
    "pdf": ("quarterly-report", "architecture overview", "signed contract", "invoice-{n}", "Übersicht {n}"),
    "docx": ("Project Plan v{n}", "meeting-minutes", "requirements", "отчёт-{n}"),
    "xlsx": ("budget-{n}", "capacity planning", "headcount", "数据-{n}"),
    "pptx": ("all-hands-deck", "roadmap {n}", "kickoff"),
    "odt": ("policy draft", "handbook-{n}"),
    "txt": ("notes", "README", "会议记录-{n}", "server.log"),
    "csv": ("export-{n}", "survey results", "metrics"),
    "html": ("saved-page-{n}", "report"),
    "png": ("diagram", "screenshot-{n}", "architecture", "chart {n}", "logo"),
}
_KIND_WEIGHTS = (("pdf", 20), ("docx", 12), ("xlsx", 10), ("pptx", 5), ("odt", 4), ("txt", 10), ("csv", 8),
                 ("html", 5), ("png", 26))
_LANDMARK_KINDS = {"pdf-corrupt": "corrupt_pdf", "pdf-encrypted": "encrypted_pdf", "csv-large": "large_file"}
_VERSION_MESSAGES = ("", "", "", "", "Fixed typos", "Updated figures", "Reviewed", "Added section", "Reworked intro")


def generate_site(spec: DatasetSpec | None = None) -> Site:
    """Build the whole site for `spec` (default: small preset, seed 1)."""
    return _SiteBuilder((spec or DatasetSpec()).resolved()).build()


@dataclass
class _Node:
    """A content item under construction: provisional id (creation order) and tree helpers."""

    item: Content
    depth: int = 0
    children: int = 0
    descendants: int = 0


class _SiteBuilder:
    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.site = Site()
        self.writer = StorageBodyWriter(TextPool.build(spec.seed))
        self.drafts: list[Content] = []  # every content item, provisional ids = index + 1
        self.group_ids: dict[str, str] = {}
        self._permission_id = 0
        self._node_of: dict[int, _Node] = {}  # pages by provisional id
        self._attachment_versions: dict[int, list[tuple[str, int]]] = {}  # (kind, variant) per version
        self._contexts: dict[int, BodyContext] = {}  # body context per page / blog post
        self._landmarks: dict[str, list[int]] = {}  # provisional ids of notable items

    # ---- orchestration ---------------------------------------------------------------------------------
    def build(self) -> Site:
        self._users_and_groups()
        spaces = self._spaces()
        pages_by_space = {space.id: self._page_tree(space, count) for space, count in
                          zip(spaces, self._split(self.spec.pages or 0, self._page_weights(spaces), minimum=1))}
        blogs_by_space = {space.id: self._blogposts(space, count) for space, count in
                          zip(spaces, self._split(self.spec.blogposts or 0, self._blog_weights(spaces), minimum=0))}
        pages = [node for nodes in pages_by_space.values() for node in nodes]
        blogs = [node for nodes in blogs_by_space.values() for node in nodes]
        self._page_statuses(pages_by_space)
        self._blog_statuses(blogs)
        self._restrictions(pages_by_space, blogs)
        attachments_by_container = self._attachments([*pages, *blogs])
        self._bodies(pages, blogs, pages_by_space, attachments_by_container)
        self._comments(pages, blogs)
        self._assign_ids_and_index(spaces)
        return self.site

    # ---- users, groups, spaces -------------------------------------------------------------------------
    def _users_and_groups(self) -> None:
        rng = self.rng
        names = [GROUP_ALL_USERS, GROUP_ENGINEERING, GROUP_PRODUCT, GROUP_FINANCE, GROUP_HR, GROUP_ADMINS,
                 GROUP_QA, GROUP_CONTRACTORS]
        for name in names:
            group = Group(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), name=name)
            self.site.groups[group.id] = group
            self.group_ids[name] = group.id
        default = User(account_id=DEFAULT_ACCOUNT_ID, user_key=DEFAULT_USER_KEY, username=DEFAULT_USERNAME,
                       display_name=DEFAULT_DISPLAY_NAME, email=DEFAULT_EMAIL, password=DEFAULT_PASSWORD,
                       api_token=DEFAULT_API_TOKEN, personal_access_token=DEFAULT_PERSONAL_ACCESS_TOKEN,
                       scoped_api_token=DEFAULT_SCOPED_API_TOKEN, oauth_client_id=DEFAULT_OAUTH_CLIENT_ID,
                       oauth_client_secret=DEFAULT_OAUTH_CLIENT_SECRET, timezone="Europe/Berlin",
                       groups={self.group_ids[name] for name in _DEFAULT_USER_GROUPS})
        self.site.users[default.account_id] = default
        self.site.default_user_id = default.account_id
        used_usernames = {DEFAULT_USERNAME}
        optional_groups = [GROUP_ENGINEERING, GROUP_PRODUCT, GROUP_FINANCE, GROUP_QA, GROUP_CONTRACTORS]
        for index in range((self.spec.users or 0) - 1):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            username = _ascii_username(first, last, index)
            while username in used_usernames:
                username += str(index)
            used_usernames.add(username)
            if rng.random() < 0.2:  # older Cloud accounts have bare 24-hex ids
                account_id = f"{rng.getrandbits(96):024x}"
            else:
                account_id = f"557058:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            groups = {self.group_ids[GROUP_ALL_USERS]}
            groups.update(self.group_ids[name] for name in rng.sample(optional_groups, rng.randrange(1, 3)))
            if index < 3:
                groups.add(self.group_ids[GROUP_HR])
            if index in (0, 3):
                groups.add(self.group_ids[GROUP_ADMINS])
            if index in (1, 4):
                groups.add(self.group_ids[GROUP_FINANCE])
            user = User(account_id=account_id, user_key=f"{rng.getrandbits(128):032x}", username=username,
                        display_name=f"{first} {last}", email=f"{username}@example.com",
                        password=f"pw-{rng.getrandbits(48):012x}",
                        api_token=f"ATATT3xFfGF0{base64.urlsafe_b64encode(rng.randbytes(48)).decode()}",
                        personal_access_token=base64.b64encode(rng.randbytes(33)).decode(),
                        timezone=rng.choice(_TIMEZONES), groups=groups)
            self.site.users[user.account_id] = user
        self.other_users = [user for user in self.site.users.values() if user.account_id != DEFAULT_ACCOUNT_ID]
        self.all_account_ids = list(self.site.users)

    def _spaces(self) -> list[Space]:
        rng = self.rng
        spaces: list[Space] = []
        global_count = self.spec.global_spaces or 0
        personal_count = self.spec.personal_spaces or 0
        span = (SITE_END - SITE_START) * 0.6
        for index in range(global_count):
            if index < len(_SPACE_CATALOGUE):
                key, name = _SPACE_CATALOGUE[index]
            else:
                key, name = f"TEAM{index}", f"Team {index} ({rng.choice(_TITLE_NOUNS)})"
            created = SITE_START + span * (index / (global_count + personal_count)) + timedelta(minutes=rng.randrange(600))
            space = Space(id=32769 + index, key=key, name=name, description=self.writer.pool.plain_sentences[index],
                          type="global", status="archived" if key == KEY_ARCHIVED else "current",
                          created_at=_ms(created), author_id=rng.choice(self.other_users).account_id,
                          labels=rng.sample(("team", "documentation", "archive", "customer", "internal"), rng.randrange(0, 3)))
            space.permissions = self._space_permissions(space)
            spaces.append(space)
        for index in range(personal_count):
            owner = self.site.users[DEFAULT_ACCOUNT_ID] if index == 0 else self.other_users[(index - 1) % len(self.other_users)]
            position = global_count + index
            created = SITE_START + span * (position / (global_count + personal_count)) + timedelta(minutes=rng.randrange(600))
            space = Space(id=32769 + position, key=f"~{owner.username.replace('.', '')}", name=owner.display_name,
                          description=f"Personal space of {owner.display_name}", type="personal", status="current",
                          created_at=_ms(created), author_id=owner.account_id)
            space.permissions = self._personal_permissions(space, owner, hidden=index == 1)
            spaces.append(space)
        for space in spaces:
            self.site.add_space(space)
        return spaces

    def _permission(self, principal_type: str, principal_id: str, operation: str = "read",
                    target_type: str = "space") -> SpacePermission:
        self._permission_id += 1
        return SpacePermission(id=self._permission_id, principal_type=principal_type,  # type: ignore[arg-type]
                               principal_id=principal_id, operation=operation, target_type=target_type)

    def _space_permissions(self, space: Space) -> list[SpacePermission]:
        groups = self.group_ids
        if space.key == KEY_HIDDEN:
            readers = [groups[GROUP_HR], groups[GROUP_ADMINS]]
        else:
            readers = [groups[GROUP_ALL_USERS], groups[GROUP_ADMINS]]
        permissions = [self._permission("group", group_id) for group_id in readers]
        permissions += [self._permission("group", readers[0], "create", "page"),
                        self._permission("group", readers[0], "create", "blogpost"),
                        self._permission("group", readers[0], "create", "comment"),
                        self._permission("group", readers[0], "create", "attachment"),
                        self._permission("group", groups[GROUP_ADMINS], "administer", "space"),
                        self._permission("user", space.author_id, "read")]
        if space.key == KEY_DOCS:
            permissions.append(self._permission("anonymous", ""))
        return permissions

    def _personal_permissions(self, space: Space, owner: User, hidden: bool) -> list[SpacePermission]:
        permissions = [self._permission("user", owner.account_id), self._permission("user", owner.account_id, "administer")]
        if not hidden:
            permissions.append(self._permission("group", self.group_ids[GROUP_ALL_USERS]))
        return permissions

    # ---- pages and blog posts --------------------------------------------------------------------------
    def _page_weights(self, spaces: list[Space]) -> list[float]:
        weights = []
        for space in spaces:
            if space.type == "personal":
                weights.append(0.15)
            elif space.key == KEY_MAIN:
                weights.append(4.0)
            elif space.key in (KEY_HIDDEN, KEY_ARCHIVED):
                weights.append(0.8)
            else:
                weights.append(0.6 + self.rng.random() * 2.4)
        return weights

    def _blog_weights(self, spaces: list[Space]) -> list[float]:
        return [0.6 if space.type == "personal" else 1.0 + self.rng.random() for space in spaces]

    @staticmethod
    def _split(total: int, weights: list[float], minimum: int) -> list[int]:
        """Deterministically split `total` by weights; every bucket gets at least `minimum` when possible."""
        if not weights:
            return []
        counts = [minimum if total >= minimum * len(weights) else 0 for _ in weights]
        remaining = total - sum(counts)
        weight_sum = sum(weights)
        shares = [remaining * weight / weight_sum for weight in weights]
        extra = [int(share) for share in shares]
        leftover = remaining - sum(extra)
        order = sorted(range(len(weights)), key=lambda i: shares[i] - extra[i], reverse=True)
        for index in order[:leftover]:
            extra[index] += 1
        return [count + more for count, more in zip(counts, extra)]

    def _new_item(self, **kwargs: object) -> Content:
        item = Content(id=len(self.drafts) + 1, **kwargs)  # type: ignore[arg-type]
        self.drafts.append(item)
        return item

    def _timeline(self, start: datetime, count: int) -> list[datetime]:
        """`count` sorted creation times between `start` and shortly before SITE_END."""
        span = (SITE_END - timedelta(days=2) - start).total_seconds()
        return [_ms(start + timedelta(seconds=offset)) for offset in sorted(self.rng.random() * span for _ in range(count))]

    def _versions(self, created: datetime, author_id: str, max_versions: int = 30) -> list[Version]:
        rng = self.rng
        roll = rng.random()
        count = 1 if roll < 0.6 else rng.randrange(2, 6) if roll < 0.95 else rng.randrange(6, max_versions + 1)
        versions = [Version(number=1, created_at=created, author_id=author_id, message="", minor_edit=False)]
        if count > 1:
            span = (SITE_END - created).total_seconds()
            offsets = sorted(rng.random() * span for _ in range(count - 1))
            for number, offset in enumerate(offsets, start=2):
                versions.append(Version(number=number, created_at=_ms(created + timedelta(seconds=offset)),
                                        author_id=rng.choice(self.all_account_ids),
                                        message=rng.choice(_VERSION_MESSAGES), minor_edit=rng.random() < 0.2))
        return versions

    def _labels(self) -> list[str]:
        roll = self.rng.random()
        if roll < 0.45:
            return []
        return sorted(self.rng.sample(_LABELS, self.rng.randrange(1, 5)))

    def _page_title(self, used: set[str]) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            title = f"{rng.choice(_TITLE_NOUNS)} {rng.choice(_TITLE_KINDS)}"
        elif roll < 0.5:
            title = f"Meeting notes {_ms(SITE_START + timedelta(days=rng.randrange(2500))).date().isoformat()}"
        elif roll < 0.62:
            title = f"How to {rng.choice(('configure', 'restore', 'rotate', 'migrate', 'debug', 'request'))} the {rng.choice(_TITLE_NOUNS).lower()}"
        elif roll < 0.72:
            title = f"ADR-{rng.randrange(1, 400)}: Use {rng.choice(('Kafka', 'Postgres', 'gRPC', 'Terraform', 'Rust'))} for {rng.choice(_TITLE_NOUNS).lower()}"
        elif roll < 0.8:
            title = f"Incident {rng.randrange(1000, 9999)} post-mortem"
        elif roll < 0.9:
            title = f"Q{rng.randrange(1, 5)} {rng.randrange(2019, 2026)} {rng.choice(_TITLE_NOUNS)} OKRs"
        elif roll < 0.96:
            title = rng.choice(_FOREIGN_TITLES)
        else:
            title = rng.choice(_ODD_TITLES)
        return _unique(title, used)

    def _page_tree(self, space: Space, count: int) -> list[_Node]:
        """Pages of one space: a homepage, a few other roots, and subtrees several levels deep."""
        rng = self.rng
        times = self._timeline(space.created_at + timedelta(hours=1), count)
        used_titles: set[str] = set()
        nodes: list[_Node] = []
        child_counts: dict[int, int] = {}
        for index, created in enumerate(times):
            author = self._space_author(space)
            if index == 0:
                title, parent = f"{space.name} Home", None
                used_titles.add(title)
            else:
                title = self._page_title(used_titles)
                parent = self._choose_parent(nodes)
            item = self._new_item(type="page", status="current", title=title, space_id=space.id, created_at=created,
                                  author_id=author, versions=self._versions(created, author),
                                  parent_id=parent.item.id if parent else None, labels=self._labels())
            node = _Node(item=item, depth=parent.depth + 1 if parent else 0)
            parent_key = parent.item.id if parent else 0
            item.position = child_counts.get(parent_key, 0)
            child_counts[parent_key] = item.position + 1
            if parent:
                parent.children += 1
                ancestor: _Node | None = parent
                while ancestor is not None:
                    ancestor.descendants += 1
                    ancestor = self._node_of.get(ancestor.item.parent_id) if ancestor.item.parent_id else None
            self._node_of[item.id] = node
            nodes.append(node)
        if nodes:
            space.homepage_id = nodes[0].item.id
        return nodes

    def _choose_parent(self, nodes: list[_Node]) -> _Node | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            return None  # another top-level page next to the homepage
        if roll < 0.25 or len(nodes) < 3:
            return nodes[0]
        candidate = rng.choice(nodes[-12:]) if roll < 0.75 else rng.choice(nodes)
        return candidate if candidate.depth < 9 else nodes[0]

    def _space_author(self, space: Space) -> str:
        if space.type == "personal" and self.rng.random() < 0.85:
            return space.author_id
        return self.rng.choice(self.other_users).account_id if self.rng.random() < 0.93 else DEFAULT_ACCOUNT_ID

    def _blogposts(self, space: Space, count: int) -> list[_Node]:
        rng = self.rng
        times = self._timeline(space.created_at + timedelta(days=1), count)
        used: set[str] = set()
        nodes = []
        for created in times:
            pattern = rng.choice(_BLOG_PATTERNS)
            title = _unique(pattern.format(n=f"{rng.randrange(1, 12)}.{rng.randrange(0, 20)}", date=created.date().isoformat(),
                                           name=self.site.users[rng.choice(self.all_account_ids)].display_name,
                                           noun=rng.choice(_TITLE_NOUNS).lower(), pct=rng.randrange(5, 80)), used)
            author = self._space_author(space)
            item = self._new_item(type="blogpost", status="current", title=title, space_id=space.id,
                                  created_at=created, author_id=author, versions=self._versions(created, author, 6),
                                  labels=self._labels())
            nodes.append(_Node(item=item))
        return nodes

    # ---- statuses and restrictions ---------------------------------------------------------------------
    def _page_statuses(self, pages_by_space: dict[int, list[_Node]]) -> None:
        rng = self.rng
        candidates = [node for nodes in pages_by_space.values() for node in nodes[1:]]
        total = len(candidates)
        if total < 12:
            return
        leaves = [node for node in candidates if node.children == 0]
        rng.shuffle(leaves)
        trashed_count = max(3, total // 80)
        draft_count = max(3, total // 120)
        for node in leaves[:trashed_count]:
            node.item.status = "trashed"
            node.item.trashed_from_parent_id = node.item.parent_id
        for node in leaves[trashed_count:trashed_count + draft_count]:
            item = node.item
            item.status = "draft"
            item.versions = item.versions[:1]
            item.labels = []
        # archive whole small subtrees, as Cloud archives a page with its descendants
        archive_target = max(3, total // 80)
        archived = 0
        subtree_roots = [node for node in candidates if 1 <= node.descendants <= 6 and node.item.status == "current"]
        rng.shuffle(subtree_roots)
        children_of: dict[int, list[_Node]] = {}
        for node in candidates:
            if node.item.parent_id is not None:
                children_of.setdefault(node.item.parent_id, []).append(node)
        for root in subtree_roots:
            if archived >= archive_target:
                break
            if root.item.status != "current":
                continue
            stack = [root]
            while stack:
                node = stack.pop()
                if node.item.status == "current":
                    node.item.status = "archived"
                    archived += 1
                stack.extend(children_of.get(node.item.id, []))

    def _blog_statuses(self, blogs: list[_Node]) -> None:
        if len(blogs) < 8:
            return
        chosen = self.rng.sample(blogs, max(4, len(blogs) // 40))
        half = len(chosen) // 2
        for node in chosen[:half]:
            node.item.status = "trashed"
        for node in chosen[half:]:
            node.item.status = "draft"
            node.item.versions = node.item.versions[:1]

    def _restrictions(self, pages_by_space: dict[int, list[_Node]], blogs: list[_Node]) -> None:
        rng = self.rng
        groups = self.group_ids
        finance_user = next(user for user in self.other_users if groups[GROUP_FINANCE] in user.groups)
        main = self.site.space_by_key(KEY_MAIN)
        assert main is not None
        main_pages = pages_by_space[main.id]
        # 1. one page tree the default user cannot read: the root is restricted, descendants inherit it
        largest = max(8, len(main_pages) // 40)
        subtree_roots = [node for node in main_pages[1:]
                         if 3 <= node.descendants <= largest and node.item.status == "current"]
        if subtree_roots:
            root = max(subtree_roots, key=lambda node: (node.descendants, -node.item.id))
            root.item.restrictions = Restrictions(read_users=[finance_user.account_id], read_groups=[groups[GROUP_FINANCE]])
            self._landmarks["hidden_tree_root"] = [root.item.id]
            # a descendant with its own, broader restriction: still hidden, the parent's restriction wins
            child = next((node for node in main_pages if node.item.parent_id == root.item.id), None)
            if child is not None:
                child.item.restrictions = Restrictions(read_groups=[groups[GROUP_ALL_USERS]])
        # 2. restricted pages the default user can read (group or direct user grant)
        visible_pool = [node for nodes in pages_by_space.values() for node in nodes[1:]
                        if node.item.status == "current" and not node.item.restrictions.read_groups]
        for node in rng.sample(visible_pool, min(len(visible_pool), max(3, len(visible_pool) // 50))):
            if rng.random() < 0.5:
                node.item.restrictions = Restrictions(read_groups=[groups[GROUP_ENGINEERING]])
            else:
                node.item.restrictions = Restrictions(read_users=[DEFAULT_ACCOUNT_ID, node.item.author_id])
        # 3. single pages (leaves) restricted to one other person
        leaves = [node for node in visible_pool if node.children == 0 and not node.item.restrictions.read_users
                  and not node.item.restrictions.read_groups]
        for node in rng.sample(leaves, min(len(leaves), 3)):
            owner = node.item.author_id if node.item.author_id != DEFAULT_ACCOUNT_ID else finance_user.account_id
            node.item.restrictions = Restrictions(read_users=[owner])
        # 4. edit restrictions only (reading stays open)
        for node in rng.sample(visible_pool, min(len(visible_pool), max(2, len(visible_pool) // 30))):
            node.item.restrictions.update_users = [node.item.author_id]
            node.item.restrictions.update_groups = [groups[GROUP_ADMINS]]
        # 5. a couple of blog posts only HR can read
        current_blogs = [node for node in blogs if node.item.status == "current"]
        for node in rng.sample(current_blogs, min(len(current_blogs), 2)):
            node.item.restrictions = Restrictions(read_groups=[groups[GROUP_HR]])

    # ---- attachments -----------------------------------------------------------------------------------
    def _attachments(self, containers: list[_Node]) -> dict[int, list[Content]]:
        rng = self.rng
        total = self.spec.attachments or 0
        eligible = [node for node in containers if node.item.status != "draft"]
        by_container: dict[int, list[Content]] = {}
        if not eligible or total <= 0:
            return by_container
        main = self.site.space_by_key(KEY_MAIN)
        special_hosts = [node for node in eligible if main and node.item.space_id == main.id
                         and node.item.status == "current" and not node.item.restrictions.read_groups
                         and not node.item.restrictions.read_users and node.item.type == "page"] or eligible
        special_kinds = ["pdf-corrupt", "pdf-encrypted", "csv-large"][: total]
        hot = rng.sample(eligible, max(1, len(eligible) // 4))
        kinds = [kind for kind, _ in _KIND_WEIGHTS]
        weights = [weight for _, weight in _KIND_WEIGHTS]
        for index in range(total):
            if index < len(special_kinds):
                kind = special_kinds[index]
                host = special_hosts[(index * 7) % len(special_hosts)]
            else:
                kind = rng.choices(kinds, weights)[0]
                host = rng.choice(hot) if rng.random() < 0.7 else rng.choice(eligible)
            siblings = by_container.setdefault(host.item.id, [])
            by_container[host.item.id].append(self._attachment(host.item, kind, {a.title for a in siblings}))
        # a few trashed attachments (never the special files, tests look those up)
        regular = [item for items in by_container.values() for item in items
                   if self._attachment_versions[item.id][0][0] in kinds]
        for item in rng.sample(regular, min(len(regular), max(2, total // 100))):
            item.status = "trashed"
        return by_container

    def _attachment(self, container: Content, kind: str, taken: set[str]) -> Content:
        rng = self.rng
        created = _ms(container.created_at + timedelta(seconds=rng.randrange(60, 30 * 86400)))
        created = min(created, _ms(SITE_END - timedelta(hours=1)))
        stem = rng.choice(_FILE_STEMS.get(kind.split("-")[0], ("file",))).format(n=rng.randrange(1, 99))
        if kind == "pdf-corrupt":
            stem = "scanned-contract (damaged)"
        elif kind == "pdf-encrypted":
            stem = "salary-bands-protected"
        elif kind == "csv-large":
            stem = "telemetry-export-2025"
        name = _unique_file_name(f"{stem}.{files.EXTENSIONS[kind]}", taken)
        author = rng.choice(self.all_account_ids)
        versions = [Version(number=1, created_at=created, author_id=author, message="", minor_edit=True)]
        item = self._new_item(type="attachment", status="current", title=name, space_id=container.space_id,
                              created_at=created, author_id=author, versions=versions, parent_id=container.id,
                              media_type=files.MEDIA_TYPES[kind], labels=self._labels() if rng.random() < 0.2 else [])
        variant_count = files.VARIANTS[kind]
        variant = rng.randrange(variant_count)
        version_count = 1
        if variant_count > 1 and rng.random() < 0.15:
            version_count = rng.randrange(2, 4)
        self._attachment_versions.setdefault(item.id, []).append((kind, variant))
        if kind in _LANDMARK_KINDS:
            self._landmarks[_LANDMARK_KINDS[kind]] = [item.id]
        for number in range(2, version_count + 1):
            variant = (variant + 1) % variant_count
            when = _ms(versions[-1].created_at + timedelta(seconds=rng.randrange(3600, 90 * 86400)))
            versions.append(Version(number=number, created_at=min(when, _ms(SITE_END - timedelta(minutes=number))),
                                    author_id=rng.choice(self.all_account_ids),
                                    message=rng.choice(("Updated figures", "New revision", "")), minor_edit=True))
            self._attachment_versions[item.id].append((kind, variant))
        item.upload_comment = rng.choice(("", "", "Latest version", "Uploaded from the meeting", "Source file"))
        item.extractable_phrase = files.phrase(kind, variant) if kind not in ("pdf-corrupt",) else ""
        return item

    # ---- bodies ----------------------------------------------------------------------------------------
    def _bodies(self, pages: list[_Node], blogs: list[_Node], pages_by_space: dict[int, list[_Node]],
                attachments_by_container: dict[int, list[Content]]) -> None:
        rng = self.rng
        titles_by_space: dict[int, list[tuple[str, str]]] = {}
        keys = {space.id: space.key for space in self.site.spaces.values()}
        for space_id, nodes in pages_by_space.items():
            titles_by_space[space_id] = [(keys[space_id], node.item.title) for node in nodes if node.item.status == "current"]
        all_titles = [title for titles in titles_by_space.values() for title in titles]
        huge_hosts = {node.item.id for node in self._huge_candidates(pages)}
        self._landmarks["huge_pages"] = sorted(huge_hosts)
        for node in [*pages, *blogs]:
            item = node.item
            own_titles = titles_by_space.get(item.space_id) or all_titles
            links = [rng.choice(own_titles) for _ in range(3)]
            if all_titles and rng.random() < 0.2:
                links.append(rng.choice(all_titles))
            images = [a.title for a in attachments_by_container.get(item.id, ()) if a.media_type == "image/png"]
            context = BodyContext(space_key=keys[item.space_id], title=item.title, link_targets=links,
                                  mention_account_ids=rng.sample(self.all_account_ids, 3), image_file_names=images,
                                  jira_project=keys[item.space_id].lstrip("~").upper()[:6] or "PROJ")
            size: BodySize
            if item.id in huge_hosts:
                size = "huge"
            elif item.status == "draft":
                size = "short"
            else:
                roll = rng.random()
                size = "short" if roll < 0.2 else "normal" if roll < 0.97 else "long"
            item.body = self.writer.page_body(rng, context, size)
            self._contexts[item.id] = context

    def _huge_candidates(self, pages: list[_Node]) -> list[_Node]:
        wanted = self.spec.huge_pages or 0
        readable_spaces = {space.id for space in self.site.spaces.values() if space.key in (KEY_MAIN, KEY_DOCS)}
        candidates = [node for node in pages if node.item.space_id in readable_spaces and node.item.status == "current"
                      and not node.item.restrictions.read_users and not node.item.restrictions.read_groups
                      and node.depth > 0]
        return self.rng.sample(candidates, min(wanted, len(candidates)))

    # ---- comments --------------------------------------------------------------------------------------
    def _comments(self, pages: list[_Node], blogs: list[_Node]) -> None:
        rng = self.rng
        total = self.spec.comments or 0
        containers = [node.item for node in [*pages, *blogs] if node.item.status in ("current", "archived", "trashed")]
        if not containers or total <= 0:
            return
        hot = rng.sample(containers, max(1, len(containers) // 5))
        per_container: dict[int, int] = {}
        for _ in range(total):
            host = rng.choice(hot) if rng.random() < 0.75 else rng.choice(containers)
            per_container[host.id] = per_container.get(host.id, 0) + 1
        by_id = {item.id: item for item in containers}
        for container_id in sorted(per_container):
            self._comment_thread(by_id[container_id], per_container[container_id])

    def _comment_thread(self, container: Content, count: int) -> None:
        rng = self.rng
        context = self._contexts[container.id]
        times = sorted(_ms(container.created_at + timedelta(seconds=rng.randrange(300, 120 * 86400))) for _ in range(count))
        limit = _ms(SITE_END - timedelta(minutes=5))
        made: list[Content] = []
        markers: list[str] = []
        for created in times:
            created = min(created, limit)
            parent: Content | None = None
            if made and rng.random() < 0.35:
                parent = rng.choice(made)
            if parent is not None:
                location = parent.comment_location
            else:
                location = "inline" if container.type == "page" and rng.random() < 0.3 else "footer"
            author = rng.choice(self.all_account_ids)
            versions = [Version(number=1, created_at=created, author_id=author)]
            if rng.random() < 0.12:
                versions.append(Version(number=2, created_at=min(_ms(created + timedelta(minutes=rng.randrange(1, 600))), limit),
                                        author_id=author, message=""))
            item = self._new_item(type="comment", status="current", title=f"Re: {container.title}",
                                  space_id=container.space_id, created_at=created, author_id=author, versions=versions,
                                  body=self.writer.comment_body(rng, context), parent_id=container.id,
                                  comment_location=location)
            if parent is not None:
                item.parent_comment_id = parent.id
                item.inline_original_selection = parent.inline_original_selection
                item.inline_marker_ref = parent.inline_marker_ref
                item.resolution_status = parent.resolution_status
            elif location == "inline":
                selection = rng.choice(self.writer.pool.plain_sentences).rstrip(".!?")
                selection = " ".join(selection.split()[:rng.randrange(2, 6)])
                item.inline_original_selection = selection
                item.inline_marker_ref = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                roll = rng.random()
                item.resolution_status = ("open" if roll < 0.6 else "resolved" if roll < 0.9
                                          else "reopened" if roll < 0.95 else "dangling")
                if item.resolution_status != "dangling":  # a dangling comment's highlighted text was deleted
                    markers.append(self.writer.inline_marker_paragraph(item.inline_marker_ref, selection))
            made.append(item)
        if markers:
            container.body += "".join(markers)

    # ---- final ids -------------------------------------------------------------------------------------
    def _assign_ids_and_index(self, spaces: list[Space]) -> None:
        """Give ids in creation order (as Confluence's one id sequence does) and index everything."""
        site = self.site
        site._next_id = 65536
        order = sorted(self.drafts, key=lambda item: (item.created_at, item.id))
        final: dict[int, int] = {}
        for item in order:
            final[item.id] = site.new_id()
        attachment_files = self._attachment_versions
        large_factory = files.large_file_factory()
        for item in order:
            provisional = item.id
            item.id = final[provisional]
            if item.parent_id is not None:
                item.parent_id = final[item.parent_id]
            if item.parent_comment_id is not None:
                item.parent_comment_id = final[item.parent_comment_id]
            if item.trashed_from_parent_id is not None:
                item.trashed_from_parent_id = final[item.trashed_from_parent_id]
            item.changed_at_wallclock = 1.0  # generated data counts as long indexed
            site.add_content(item)
            for number, (kind, variant) in enumerate(attachment_files.get(provisional, ()), start=1):
                if kind == "csv-large":
                    site.blobs.set_lazy((item.id, number), large_factory, files.LARGE_FILE_SIZE)
                else:
                    site.blobs[(item.id, number)] = files.file_bytes(kind, variant)
            if item.type == "attachment":
                item.file_size = site.blobs.size_of((item.id, item.version.number))
        for space in spaces:
            if space.homepage_id is not None:
                space.homepage_id = final[space.homepage_id]
        site.landmarks = {name: sorted(final[item_id] for item_id in ids) for name, ids in self._landmarks.items()}


def _ms(moment: datetime) -> datetime:
    """Round to milliseconds, the precision Confluence keeps."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _unique(title: str, used: set[str]) -> str:
    candidate, number = title, 2
    while candidate in used:
        candidate = f"{title} ({number})"
        number += 1
    used.add(candidate)
    return candidate


def _unique_file_name(name: str, taken: set[str]) -> str:
    stem, dot, extension = name.rpartition(".")
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{stem}-{number}{dot}{extension}"
        number += 1
    return candidate


_ASCII_FOLD = str.maketrans({"É": "E", "é": "e", "è": "e", "ë": "e", "ö": "o", "ø": "o", "ó": "o", "ü": "u",
                             "ñ": "n", "á": "a", "í": "i", "ç": "c", "ł": "l", "ó": "o", "Ø": "O", "ś": "s"})


def _ascii_username(first: str, last: str, index: int) -> str:
    """Login names are ASCII even when display names are not."""
    folded = f"{first[0]}{last}".translate(_ASCII_FOLD).lower()
    ascii_only = "".join(ch for ch in folded if ch.isascii() and ch.isalnum())
    return ascii_only if len(ascii_only) >= 3 else f"user{index + 1}"

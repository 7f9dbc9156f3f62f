"""The label and page-tree check in isolation: which items it re-reads.

The end-to-end behaviour (simulator, Elasticsearch) is covered in tests/pipeline/test_sync_job.py; these tests pin
the decisions with a scripted reader and index."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from confluence_source import settings as defaults
from confluence_source.cql import ChangeWindow
from confluence_source.documents import ContentFacts, Ref, SpaceInfo
from confluence_source.reader import Scope, SyncPlan
from confluence_source.documents import Outline
from confluence_source.structure import IndexedDependent, StructureCheck, without_renamed_spaces

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
WINDOW = ChangeWindow(start=datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc), end=NOW)


def page(confluence_id: str, title: str = "T", labels: tuple[str, ...] = (), ancestors: tuple[str, ...] = (),
         version: int = 1, doc_type: str = "page") -> ContentFacts:
    return ContentFacts(
        doc_type=doc_type, confluence_id=confluence_id, title=title, status="current", space_key="ENG",
        space_name="Engineering", url=None, created_at=None, updated_at=None, version=version, author_id=None,
        author_name=None, labels=list(labels), ancestors=[Ref("page", a, f"title {a}") for a in ancestors],
    )


class ScriptedReader:
    """Answers the check's questions from fixed listings and records what it was asked to read."""

    def __init__(self, outlines: list[ContentFacts], contained: list[tuple[str, str, str]] | None = None,
                 concurrent_downloads: int = 50, label_map: dict[str, tuple[str, ...]] | None = None) -> None:
        self.label_map = label_map  # what a label listing would give (None: the flavour has none worth using)
        self.outlines = outlines
        self.contained = contained or []
        self.read: dict[str, dict[str, str]] = {}
        self.config = SimpleNamespace(concurrent_downloads=concurrent_downloads)
        self.listed: list[tuple[tuple[str, ...], tuple[str, ...]]] = []  # (types, scope keys) of each listing
        self.workers: list[int | None] = []  # parallel queries each listing may run

    def iter_outlines(self, doc_types, scopes, sizes=None, expand=None, keep=None, max_workers=None, abandon=None):
        self.listed.append((tuple(doc_types), tuple(scope.key for scope in scopes)))
        self.workers.append(max_workers)
        for facts in self.outlines:
            if facts.doc_type in doc_types:
                outline = Outline.of_facts(facts)
                if expand == defaults.V1_LABELS_EXPAND:  # no ancestors asked for
                    outline = Outline(outline.title, outline.space_key, outline.labels, (), ())
                scope_key = scopes[0].key if scopes and scopes[0].kind == "rule" else "ENG"
                item = (scope_key, facts.doc_type, facts.confluence_id, outline)
                if keep is None or keep(item):
                    yield item

    def current_labels(self, doc_types, scopes, expected_items, max_workers=16):
        return self.label_map

    def iter_contained(self, container_ids, doc_types, rules=()):
        yield from (item for item in self.contained if item[2] in container_ids)

    def read_ids(self, doc_type, wanted):
        self.read[doc_type] = dict(wanted)
        return iter(())


class ScriptedIndex:
    def __init__(self, documents: dict[str, ContentFacts], dependents: list[IndexedDependent] | None = None) -> None:
        self.documents = {f"{facts.doc_type}-{facts.confluence_id}": Outline.of_facts(facts)
                          for facts in documents.values()}
        self._dependents = dependents or []
        self.asked_dependents: list[str] = []
        self.asked_held: list[list[str]] = []
        self.spaces: dict[str, str] = {}  # document id -> space key, where not ENG

    def outlines(self, doc_types, space_keys):
        return {doc_id: outline for doc_id, outline in self.documents.items() if doc_id.split("-")[0] in doc_types}

    def labelled(self, doc_types, space_keys):
        return {doc_id: outline.labels for doc_id, outline in self.outlines(doc_types, space_keys).items()
                if outline.labels}

    def held(self, document_ids):
        self.asked_held.append(sorted(document_ids))
        return {document_id: self.spaces.get(document_id, "ENG") for document_id in document_ids
                if document_id in self.documents}

    def counts_by_space_and_type(self):
        counts: dict[tuple[str, str], int] = {}
        for doc_id in self.documents:
            key = ("ENG", doc_id.split("-")[0])
            counts[key] = counts.get(key, 0) + 1
        return counts

    def dependents(self, document_ids):
        self.asked_dependents = sorted(document_ids)
        return [d for d in self._dependents if set(d.above) & set(document_ids)]


def incremental_plan() -> SyncPlan:
    return SyncPlan(scopes=(Scope(key="ENG", kind="space", window=WINDOW),), started_at=NOW, window_end=NOW)


def run_check(reader: ScriptedReader, index: ScriptedIndex, already_read: set[str] | None = None) -> StructureCheck:
    check = StructureCheck(reader, incremental_plan(), index)  # type: ignore[arg-type]
    for doc_type in ("page", "blogpost", "comment", "attachment"):
        list(check.reread(doc_type, already_read or set()))
    return check


def test_label_order_and_unchanged_items_cause_no_reads():
    indexed = {"1": page("1", labels=("b", "a")), "2": page("2", ancestors=("1",))}
    reader = ScriptedReader([page("1", labels=("a", "b")), page("2", ancestors=("1",))])
    run_check(reader, ScriptedIndex(indexed))
    assert reader.read == {}


def test_label_move_and_rename_are_read_with_what_hangs_below_a_renamed_or_moved_page():
    indexed = {"1": page("1", title="Old"), "2": page("2", ancestors=("1",)), "3": page("3", labels=("x",)),
               "4": page("4", ancestors=("1",))}
    below = [IndexedDependent("comment-10", "comment", ("page-2",)),
             IndexedDependent("attachment-att11", "attachment", ("page-9", "page-4")),
             IndexedDependent("comment-12", "comment", ("page-3",))]
    reader = ScriptedReader([
        page("1", title="New", version=2),   # renamed (a new version: the change window read it already)
        page("2", ancestors=("1",)),         # unchanged
        page("3", labels=()),                # label removed: re-read, nothing below changes
        page("4", ancestors=("2",)),         # moved under page 2
    ])
    run_check(reader, ScriptedIndex(indexed, below), already_read={"page-1"})
    assert reader.read["page"] == {"3": "ENG", "4": "ENG"}  # page 1 was read by the change window already
    assert reader.read["attachment"] == {"att11": "ENG"}  # under page 4, which moved
    assert "comment" not in reader.read  # comment 12 hangs on page 3, whose title and place did not change


def test_pages_new_to_the_index_bring_their_comments_and_attachments():
    reader = ScriptedReader([page("1"), page("5")], contained=[("comment", "50", "5"), ("attachment", "att51", "5")])
    run_check(reader, ScriptedIndex({"1": page("1")}))
    assert reader.read == {"page": {"5": "ENG"}, "comment": {"50": "ENG"}, "attachment": {"att51": "ENG"}}


def test_attachments_are_read_again_when_their_labels_changed_and_only_then():
    indexed = {"1": page("1"), "a1": page("a1", labels=("diagram",), ancestors=("1",), doc_type="attachment"),
               "a2": page("a2", ancestors=("1",), doc_type="attachment"),
               "a3": page("a3", labels=("old",), ancestors=("1",), doc_type="attachment")}
    reader = ScriptedReader([
        page("1"),
        page("a1", labels=("diagram",), ancestors=("1",), doc_type="attachment"),  # unchanged (no ancestors listed)
        page("a2", labels=("invoice",), ancestors=("1",), doc_type="attachment"),  # label added
        page("a3", ancestors=("1",), doc_type="attachment"),                       # label removed
        page("a4", labels=("new",), doc_type="attachment"),                        # not indexed: the change window's
    ])
    index = ScriptedIndex(indexed)
    run_check(reader, index)
    assert reader.read == {"attachment": {"a2": "ENG", "a3": "ENG"}}
    # only files labelled now whose labels the index does not know are looked up, in one batch
    assert index.asked_held == [["attachment-a2", "attachment-a4"]]


def test_files_are_listed_only_where_the_index_holds_some_and_one_listing_at_a_time_when_asked():
    reader = ScriptedReader([page("1")], concurrent_downloads=1)
    run_check(reader, ScriptedIndex({"1": page("1")}))  # no attachment indexed: nothing to compare them with
    assert reader.listed == [(("page", "blogpost"), ("ENG",))]
    reader = ScriptedReader([page("1")], concurrent_downloads=1)
    run_check(reader, ScriptedIndex({"1": page("1"), "a1": page("a1", doc_type="attachment")}))
    assert reader.listed == [(("page", "blogpost"), ("ENG",)), (("attachment",), ("ENG",))]
    assert reader.workers == [1, 1]


def test_the_two_listings_share_the_parallel_requests_allowed():
    reader = ScriptedReader([page("1")], concurrent_downloads=6)
    run_check(reader, ScriptedIndex({"1": page("1"), "a1": page("a1", doc_type="attachment")}))
    assert sorted(reader.listed) == [(("attachment",), ("ENG",)), (("page", "blogpost"), ("ENG",))]
    assert reader.workers == [3, 3]


def test_under_advanced_rules_a_file_a_rule_newly_matches_is_read():
    rule = Scope(key='label = "publish"', kind="rule", rule='label = "publish"', window=WINDOW)
    reader = ScriptedReader([page("a9", labels=("publish",), doc_type="attachment")])
    plan = SyncPlan(scopes=(rule,), started_at=NOW, window_end=NOW)
    check = StructureCheck(reader, plan, ScriptedIndex({}))  # type: ignore[arg-type]
    for doc_type in ("page", "blogpost", "comment", "attachment"):
        list(check.reread(doc_type, set()))
    assert reader.read == {"attachment": {"a9": 'label = "publish"'}}


def test_with_a_label_listing_files_are_compared_without_listing_them():
    indexed = {"1": page("1"), "a1": page("a1", labels=("diagram",), doc_type="attachment"),
               "a2": page("a2", doc_type="attachment"), "a3": page("a3", labels=("old",), doc_type="attachment"),
               "a8": page("a8", doc_type="attachment")}
    label_map = {"attachment-a1": ("diagram",), "attachment-a2": ("invoice",),  # a2 labelled, a3's label removed
                 "attachment-a8": ("ops",),  # indexed, but in a space this run does not sync
                 "attachment-a9": ("elsewhere",)}  # not indexed at all
    reader = ScriptedReader([page("1")], label_map=label_map)
    index = ScriptedIndex(indexed)
    index.spaces["attachment-a8"] = "OPS"
    run_check(reader, index)
    assert reader.read == {"attachment": {"a2": "ENG", "a3": "ENG"}}
    assert reader.listed == [(("page", "blogpost"), ("ENG",))]  # no listing of the files
    assert index.asked_held == [["attachment-a2", "attachment-a3", "attachment-a8", "attachment-a9"]]


def test_an_attachment_the_change_window_read_is_not_read_twice():
    indexed = {"a2": page("a2", doc_type="attachment")}
    reader = ScriptedReader([page("a2", labels=("invoice",), doc_type="attachment")])
    run_check(reader, ScriptedIndex(indexed), already_read={"attachment-a2"})
    assert reader.read == {}


def test_an_edit_is_left_to_the_change_window():
    reader = ScriptedReader([page("1", version=3)])
    run_check(reader, ScriptedIndex({"1": page("1", version=2)}))
    assert reader.read == {}


def test_full_reads_need_no_check():
    reader = ScriptedReader([page("1", labels=("new",))])
    plan = SyncPlan(scopes=(Scope(key="ENG", kind="space"),), started_at=NOW, window_end=NOW)
    check = StructureCheck(reader, plan, ScriptedIndex({"1": page("1")}))  # type: ignore[arg-type]
    assert list(check.reread("page", set())) == []
    assert reader.read == {}


def test_the_light_v1_outline_equals_the_outline_of_the_full_facts():
    from confluence_source.documents import facts_from_v1, outline_from_v1

    raw = {
        "id": "42", "type": "page", "status": "current", "title": "Runbook & rollback",
        "_expandable": {"space": "/rest/api/space/OPS%2DX"},
        "metadata": {"labels": {"results": [{"prefix": "global", "name": "zeta"}, {"prefix": "team", "name": "ops"},
                                            {"prefix": "global", "name": "alpha"}]}},
        "ancestors": [{"id": "1", "type": "page", "title": "Home"}, {"id": "7", "type": "page", "title": "Ops"}],
    }
    doc_type, confluence_id, outline = outline_from_v1(raw)
    assert (doc_type, confluence_id) == ("page", "42")
    assert outline == Outline.of_facts(facts_from_v1(raw, lambda link: link))
    assert outline.space_key == "OPS-X"
    assert outline.labels == ("alpha", "team:ops", "zeta")
    assert outline.ancestor_ids == ("page-1", "page-7")


def test_a_space_renamed_since_the_watermarks_were_saved_loses_its_watermark():
    marks = {"ENG": "2026-01-01T00:00:00+00:00", "OPS": "2026-01-01T00:00:00+00:00", "NEW": "2026-01-01T00:00:00+00:00"}
    names_then = {"ENG": "Engineering", "OPS": "Ops", "GONE": "Archive"}
    spaces = [SpaceInfo(id="1", key="ENG", name="Engineering"), SpaceInfo(id="2", key="OPS", name="Operations"),
              SpaceInfo(id="3", key="NEW", name="New space")]  # NEW: no name saved yet (an older state document)
    assert without_renamed_spaces(marks, names_then, spaces) == {"ENG": marks["ENG"], "NEW": marks["NEW"]}


def test_when_one_listing_fails_the_other_stops_and_its_error_is_raised():
    """The label listing (attachments) fails at once: the page-tree listing stops at its next item instead of
    running to its end, and the label listing's error is what the run reports."""
    import time

    import pytest

    class FailingLabels(ScriptedReader):
        pages_listed = 0

        def iter_outlines(self, doc_types, scopes, sizes=None, expand=None, keep=None, max_workers=None,
                          abandon=None):
            from confluence_source.reader import ListingStopped

            if "attachment" in doc_types:
                raise RuntimeError("Confluence kept answering HTTP 500 while listing labels")
            for n in range(300):
                time.sleep(0.005)  # one response after another
                if abandon is not None and abandon.is_set():
                    raise ListingStopped()
                item = ("ENG", "page", str(n), Outline.of_facts(page(str(n))))
                if keep is None or keep(item):
                    self.pages_listed += 1
                    yield item

    indexed = {"1": page("1"), "a1": page("a1", labels=("x",), doc_type="attachment")}
    reader = FailingLabels([])
    with pytest.raises(RuntimeError, match="listing labels"):
        run_check(reader, ScriptedIndex(indexed))
    assert reader.pages_listed < 300


def test_a_failed_query_stops_both_listings_with_their_parallel_queries(monkeypatch):
    """Through the reader's own listing, four queries side by side per listing: one page query fails at its third
    response, and every other query of both listings stops at its next response instead of running to the end."""
    import threading
    import time

    import pytest

    from confluence_source import reader as reader_module

    monkeypatch.setattr(reader_module, "outline_from_v1", lambda raw: (
        raw["type"], raw["id"], Outline("t", "ENG", tuple(raw.get("labels", ())), (), ())))
    responses_per_query = 100

    class PagedReader:
        config = SimpleNamespace(concurrent_downloads=8)
        iter_outlines = reader_module.ConfluenceReader.iter_outlines

        def __init__(self) -> None:
            self.responses = {"page": 0, "attachment": 0}
            self.lock = threading.Lock()

        def is_indexed_status(self, status):
            return True

        def _outline_queries(self, type_filter, scopes, sizes):
            kind = "attachment" if "attachment" in type_filter else "page"
            return [((lambda outline: "ENG"), f"{kind}:{n}", False) for n in range(4)]

        def search(self, cql, expand, limit, archived, purpose):
            kind, query = cql.split(":")
            for n in range(responses_per_query):
                if kind == "page" and query == "0" and n == 3:
                    raise RuntimeError("Confluence kept answering HTTP 500 while listing pages")
                time.sleep(0.005)
                with self.lock:
                    self.responses[kind] += 1
                yield [{"type": kind, "id": f"{query}-{n}", "labels": ["x"] if kind == "attachment" else []}]

        def current_labels(self, *args, **kwargs):
            return None

    reader = PagedReader()
    index = ScriptedIndex({"1": page("1"), "a1": page("a1", labels=("x",), doc_type="attachment")})
    with pytest.raises(RuntimeError, match="listing pages"):
        StructureCheck(reader, incremental_plan(), index).changes()  # type: ignore[arg-type]
    assert reader.responses["page"] < 4 * responses_per_query // 2
    assert reader.responses["attachment"] < 4 * responses_per_query // 2

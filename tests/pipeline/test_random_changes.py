"""Random sequences of site changes, each followed by an incremental run, must leave the index exactly as a full sync
of the final site writes it.

Hand-written scenarios test the changes one thinks of; a seeded random mix (drafts and their publication, edits,
moves within and across spaces, trash, restore, purge, archive, comments and replies, files and their new versions,
labels, restrictions, space renames, archives and deletions, Cloud folders) also tests the orders and combinations
nobody wrote down. After every
incremental run the index must hold exactly the documents the default user should find; at the end every document
must equal, field by field, the one a full sync into a fresh index writes. A failure names the seed, the changes of
each round and the first differing fields, so it can be replayed.

Left out, as the README's known limitations say incremental runs do not follow them: labels on comments, inline
comments resolved or reopened, and the form of links to other pages by title in `body_markdown`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from confluence_simulator.faults import FaultRule
from confluence_simulator.model import Content
from confluence_simulator.mutations import MutationError

ROUNDS = 4
CHANGES_PER_ROUND = 7
# a link to a page by its title, in each form `body_markdown` may give it (see `comparable`)
PAGE_LINK = re.compile(
    r"\]\(https?://[^)\s]+/(?:spaces/[^/)\s]+/pages/\d+/|display/|pages/viewpage\.action\?)[^)\s]*\)")


@dataclass
class RandomChanges:
    """Picks and applies random changes to one simulated site; `log` says what was done, for the failure message."""

    harness: Any
    rng: random.Random
    log: list[str] = field(default_factory=list)
    counter: int = 0
    # comments and files restored from the trash on their own this round: no change window brings them back, the
    # deletion check of this round's run finds them missing and the run after reads them
    restored_alone: set[str] = field(default_factory=set)
    # space keys the `spaces` setting names: never deleted (the run would stop at an unknown key)
    named_spaces: frozenset[str] = frozenset()
    # with `index_archived`: what hangs on an archived page is not restored on its own (README, known limitations)
    archived_indexed: bool = False

    @property
    def site(self) -> Any:
        return self.harness.site

    @property
    def mutations(self) -> Any:
        return self.harness.sim.mutations

    @property
    def is_cloud(self) -> bool:
        return self.harness.sim.config.flavour == "cloud"

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix} {self.counter} {self.rng.randrange(10_000)}"

    def items(self, *types: str, statuses: tuple[str, ...] = ("current",)) -> list[Content]:
        return sorted((item for item in self.site.iter_content() if item.type in types and item.status in statuses
                       and item.space_id in self.site.spaces), key=lambda item: item.id)

    def pick(self, *types: str, statuses: tuple[str, ...] = ("current",)) -> Content | None:
        found = self.items(*types, statuses=statuses)
        return self.rng.choice(found) if found else None

    def document_id(self, item: Content) -> str:
        cloud_file = item.type == "attachment" and self.is_cloud
        return f"{item.type}-{'att' if cloud_file else ''}{item.id}"

    def space_key(self) -> str:
        keys = sorted(space.key for space in self.site.spaces.values() if space.status == "current")
        if not keys:
            raise MutationError("no current space left")  # the change is drawn again
        return self.rng.choice(keys)

    # ---- the changes -------------------------------------------------------------------------------------
    def add_page(self) -> str | None:
        parent = self.pick("page", "folder") if self.rng.random() < 0.7 else None
        status = "draft" if self.rng.random() < 0.2 else "current"  # a draft is never indexed, until published
        where: dict[str, Any] = {"parent_id": parent.id} if parent is not None else {"space_key": self.space_key()}
        page = self.mutations.add_page(title=self.name("Page"), body=f"<p>new text {self.counter}</p>",
                                       labels=self.labels(), status=status, **where)
        return f"add {status} page {page.id} under {page.parent_id}"

    def add_blogpost(self) -> str | None:
        status = "draft" if self.rng.random() < 0.2 else "current"
        post = self.mutations.add_blogpost(space_key=self.space_key(), title=self.name("Post"),
                                           body=f"<p>news {self.counter}</p>", labels=self.labels(), status=status)
        return f"add {status} blog post {post.id}"

    def publish(self) -> str | None:
        draft = self.pick("page", "blogpost", statuses=("draft",))
        if draft is None:
            return None
        self.mutations.publish(content_id=draft.id)
        return f"publish {draft.type} {draft.id}"

    def edit(self) -> str | None:
        item = self.pick("page", "blogpost", "comment")
        if item is None:
            return None
        title = self.name("Renamed") if item.type != "comment" and self.rng.random() < 0.5 else None
        self.mutations.edit(content_id=item.id, title=title, body=f"<p>edited {self.counter}</p>",
                            minor_edit=self.rng.random() < 0.3)
        return f"edit {item.type} {item.id}" + (" and its title" if title else "")

    def move(self) -> str | None:
        page = self.pick("page", "folder")
        if page is None:
            return None
        if self.rng.random() < 0.5:
            target = self.pick("page", "folder")
            if target is None:
                return None
            self.mutations.move_page(page_id=page.id, parent_id=target.id)
            return f"move {page.type} {page.id} under {target.id}"
        key = self.space_key()
        self.mutations.move_page(page_id=page.id, space_key=key)
        return f"move {page.type} {page.id} to the top of {key}"

    def trash(self) -> str | None:
        item = self.pick("page", "blogpost", "comment", "attachment", "folder")
        if item is None:
            return None
        with_descendants = self.rng.random() < 0.3
        self.mutations.trash(content_id=item.id, with_descendants=with_descendants)
        return f"trash {item.type} {item.id}" + (" with what is below" if with_descendants else "")

    def restore(self) -> str | None:
        # pages, blog posts and folders: comments and files restored on their own have a round of their own
        item = self.pick("page", "blogpost", "folder", statuses=("trashed", "archived"))
        if item is None:
            return None
        self.mutations.restore(content_id=item.id)
        return f"restore {item.type} {item.id}"

    def on_archived_page(self, item: Content) -> bool:
        """Whether the item is an archived page, or hangs on one."""
        page: Content | None = item
        while page is not None and page.type not in ("page", "blogpost"):
            page = self.site.content.get(page.parent_id or 0)
        return page is not None and page.status == "archived"

    def restore_alone(self, most: int = 3) -> list[str]:
        """Restore up to `most` comments and files from the trash whose page stayed. The next run finds them missing
        (no change window brings them) and the run after reads them. Alone in their round: a comment or file deleted
        in the same space by the same run would cancel out in the count that finds them (see the README)."""
        self.restored_alone = set()
        done: list[str] = []
        for item in self.items("comment", "attachment", statuses=("trashed",)):
            if len(done) >= most:
                break
            if self.archived_indexed and self.on_archived_page(item):
                continue
            try:
                self.mutations.restore(content_id=item.id)
            except MutationError:
                continue  # its page is in the trash too
            self.restored_alone.add(self.document_id(item))
            done.append(f"restore {item.type} {item.id} on its own")
        self.log.append("; ".join(done) or "(no changes)")
        return done

    def purge(self) -> str | None:
        item = self.pick("page", "blogpost", "comment", "attachment", statuses=("trashed",))
        if item is None:
            return None
        self.mutations.purge(content_id=item.id)
        return f"purge {item.type} {item.id}"

    def archive(self) -> str | None:
        page = self.pick("page")
        if page is None:
            return None
        self.mutations.archive_page(page_id=page.id, with_descendants=self.rng.random() < 0.5)
        return f"archive page {page.id}"

    def comment(self) -> str | None:
        container = self.pick("page", "blogpost")
        if container is None:
            return None
        replied = [self.site.content[cid] for cid in self.site.child_ids(container.id, "comment")
                   if self.site.content[cid].status == "current"]
        if replied and self.rng.random() < 0.4:
            parent = self.rng.choice(replied)
            made = self.mutations.add_comment(container_id=container.id, body=f"<p>reply {self.counter}</p>",
                                              parent_comment_id=parent.id)
            return f"reply {made.id} to comment {parent.id}"
        location = "inline" if self.rng.random() < 0.3 else "footer"
        made = self.mutations.add_comment(container_id=container.id, body=f"<p>comment {self.counter}</p>",
                                          location=location, selection="the")
        return f"{location} comment {made.id} on {container.id}"

    def attach(self) -> str | None:
        container = self.pick("page", "blogpost")
        if container is None:
            return None
        extension = self.rng.choice(["pdf", "docx", "txt", "png"])
        made = self.mutations.add_attachment(container_id=container.id, file_name=f"{self.name('file')}.{extension}",
                                             comment="uploaded")
        return f"attach {made.id} to {container.id}"

    def new_file_version(self) -> str | None:
        item = self.pick("attachment")
        if item is None:
            return None
        self.mutations.add_attachment_version(attachment_id=item.id, comment=f"version {self.counter}")
        return f"new version of file {item.id}"

    def label(self) -> str | None:
        # not comments: their labels (set through the API only) are compared by full refreshes alone (README)
        item = self.pick("page", "blogpost", "attachment")
        if item is None:
            return None
        if self.archived_indexed and self.on_archived_page(item):
            return None  # with `index_archived`, such labels wait for a full refresh (README, known limitations)
        if item.labels and self.rng.random() < 0.5:
            label = self.rng.choice(item.labels)
            self.mutations.remove_label(content_id=item.id, label=label)
            return f"remove label {label} from {item.type} {item.id}"
        labels = self.labels() or ["random-label"]
        self.mutations.add_labels(content_id=item.id, labels=labels)
        return f"label {item.type} {item.id} {labels}"

    def restrict(self) -> str | None:
        item = self.pick("page", "blogpost")
        if item is None:
            return None
        if item.restrictions.read_users or item.restrictions.read_groups or self.rng.random() < 0.3:
            self.mutations.clear_restrictions(content_id=item.id)
            return f"lift restrictions of {item.type} {item.id}"
        someone_else = next(user.account_id for user in self.site.users.values()
                            if user.account_id != self.site.default_user_id)
        self.mutations.set_restrictions(content_id=item.id, read_users=[someone_else])
        return f"restrict {item.type} {item.id} to someone else"

    def rename_space(self) -> str | None:
        key = self.space_key()
        self.mutations.rename_space(space_key=key, name=self.name("Space"))
        return f"rename space {key}"

    def delete_space(self) -> str | None:
        """Delete a space for good, one the `spaces` setting does not name (a key it names must exist)."""
        keys = sorted(space.key for space in self.site.spaces.values() if space.key not in self.named_spaces)
        if len(self.site.spaces) <= 2 or not keys:
            return None
        key = self.rng.choice(keys)
        self.mutations.delete_space(space_key=key)
        return f"delete space {key}"

    def archive_space(self) -> str | None:
        archived = sorted(space.key for space in self.site.spaces.values() if space.status == "archived")
        if archived and self.rng.random() < 0.6:
            key = self.rng.choice(archived)
            self.mutations.unarchive_space(space_key=key)
            return f"unarchive space {key}"
        key = self.space_key()
        if key in self.named_spaces and not self.archived_indexed:
            return None  # a space the setting names must stay syncable (an archived one stops the run)
        self.mutations.archive_space(space_key=key)
        return f"archive space {key}"

    def folder(self) -> str | None:
        if not self.is_cloud:
            return None
        parent = self.pick("page", "folder") if self.rng.random() < 0.5 else None
        if parent is not None:
            made = self.mutations.add_folder(parent_id=parent.id, title=self.name("Folder"))
        else:
            made = self.mutations.add_folder(space_key=self.space_key(), title=self.name("Folder"))
        page = self.pick("page")
        if page is not None and self.rng.random() < 0.7:
            try:
                self.mutations.move_page(page_id=page.id, parent_id=made.id)
            except MutationError:
                return f"add folder {made.id}"
            return f"add folder {made.id} and move page {page.id} into it"
        return f"add folder {made.id}"

    def labels(self) -> list[str]:
        return self.rng.sample(["howto", "team-a", "draft-notes", "release"], k=self.rng.randrange(0, 3))

    def round(self, count: int) -> list[str]:
        """Apply `count` random changes (those that do not apply to the site as it is are drawn again)."""
        choices: list[tuple[Callable[[], str | None], float]] = [
            (self.add_page, 3), (self.add_blogpost, 1), (self.edit, 4), (self.move, 3), (self.trash, 3),
            (self.restore, 2), (self.purge, 1), (self.archive, 1), (self.comment, 3),
            (self.attach, 2), (self.new_file_version, 2), (self.label, 4), (self.restrict, 2),
            (self.rename_space, 1), (self.archive_space, 1), (self.folder, 2), (self.publish, 1),
            (self.delete_space, 0.2),
        ]
        done: list[str] = []
        self.restored_alone = set()
        attempts = 0
        while len(done) < count and attempts < count * 20:
            attempts += 1
            change = self.rng.choices([choice for choice, _ in choices], [weight for _, weight in choices])[0]
            try:
                described = change()
            except MutationError:
                continue
            if described:
                done.append(described)
        self.log.append("; ".join(done) or "(no changes)")
        return done


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The document with links to other pages by title made alike: such a link leads to the page's own URL when
    the run knows a page of that title in that space, else to Confluence's title URL, so its form depends on where
    other pages were when the body was converted (README, known limitations)."""
    found = dict(document)
    if isinstance(found.get("body_markdown"), str):
        found["body_markdown"] = PAGE_LINK.sub("](page link)", found["body_markdown"])
    return found


def first_differences(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    found = [f"missing {doc_id}" for doc_id in sorted(set(expected) - set(actual))]
    found += [f"unexpected {doc_id}" for doc_id in sorted(set(actual) - set(expected))]
    for doc_id in sorted(set(expected) & set(actual)):
        fields = sorted(name for name in set(expected[doc_id]) | set(actual[doc_id])
                        if expected[doc_id].get(name) != actual[doc_id].get(name))
        found += [f"{doc_id}.{name}: {actual[doc_id].get(name)!r} instead of {expected[doc_id].get(name)!r}"
                  for name in fields]
    return found


@pytest.mark.parametrize("flavour, seed, spaces, index_archived", [
    ("cloud", 11, "*", False), ("datacenter", 12, "ENG,DOCS", False), ("cloud", 5, "*", True),
    ("datacenter", 4, "*", True)])
def test_random_changes_reach_the_index_as_a_full_sync_writes_them(make_harness, flavour, seed, spaces,
                                                                    index_archived):
    # these seeds restore some where it shows
    assert check_random_changes(make_harness, flavour, seed, spaces, index_archived) > 0


def check_random_changes(make_harness: Any, flavour: str, seed: int, spaces: str = "*",
                         index_archived: bool = False) -> int:
    """ROUNDS rounds of random changes, each followed by an incremental run after which the index must hold exactly
    what the account should find; then comments and files restored on their own (found missing by that run, read
    by the next, which follows no change and must leave the rest alone); then every document must equal the one
    a full sync into a fresh index writes. `spaces` as the setting (`*`, or keys: changes reach unsynced spaces
    too, so content moves in and out of the synced ones); with `index_archived`, what the account should find is
    what a full sync finds, after every round. Returns how many restored items were found missing (those restored
    where the account does not see them are not)."""
    found_missing = 0
    synced = None if spaces == "*" else set(spaces.split(","))
    settings = {"SOURCES__CONFLUENCE__INDEX_ARCHIVED": "true"} if index_archived else {}
    harness = make_harness(flavour, spaces=spaces)
    harness.configure(spaces, **settings)
    harness.run()
    changes = RandomChanges(harness, random.Random(seed), named_spaces=frozenset(synced or ()),
                            archived_indexed=index_archived)
    for number in range(1, ROUNDS + 3):
        if number <= ROUNDS:
            changes.round(CHANGES_PER_ROUND)
        elif number == ROUNDS + 1:
            changes.restore_alone()
        else:
            changes.round(0)
        summary = harness.run(allow_mass_delete=True)  # incremental, but for spaces renamed or unarchived since
        if index_archived:
            fresh = make_harness(flavour, spaces=spaces, reading=harness)
            fresh.configure(spaces, **settings)
            fresh.run()
            expected_ids = set(fresh.docs())
            harness.configure(spaces, **settings)  # the environment names the index: back to this one's
        else:
            expected_ids = set().union(*harness.visible(synced).values())
        indexed = set(harness.docs())
        history = "\n".join(f"round {index}: {text}" for index, text in enumerate(changes.log, 1))
        missing, unexpected = expected_ids - indexed, indexed - expected_ids
        assert missing <= changes.restored_alone and not unexpected, (
            f"seed {seed}, after round {number}: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}\n{history}")
        assert summary.missing_from_index == len(missing)
        if number == ROUNDS + 1:  # restored where the account sees it, and not brought back by another read
            found_missing = len(missing)

    incremental = {doc_id: comparable(doc) for doc_id, doc in harness.docs().items()}
    fresh = make_harness(flavour, spaces=spaces, reading=harness)  # the same site, read in full into a fresh index
    fresh.configure(spaces, **settings)
    fresh.run()
    full = {doc_id: comparable(doc) for doc_id, doc in fresh.docs().items()}
    differences = first_differences(full, incremental)
    history = "\n".join(f"round {index}: {text}" for index, text in enumerate(changes.log, 1))
    assert not differences, f"seed {seed}:\n" + "\n".join(differences[:12]) + f"\n{history}"
    return found_missing


FAULT_KINDS = ("server_error", "service_unavailable", "rate_limit", "drop_connection", "truncated_body",
               "empty_page", "too_large")


@pytest.mark.parametrize("flavour, seed", [("cloud", 21), ("datacenter", 22)])
def test_runs_on_a_failing_server_delete_nothing_that_exists_and_the_next_run_catches_up(make_harness, flavour, seed):
    """Each round: random changes, then random faults on any request (errors, rate limits, dropped connections, cut
    bodies, empty pages that link onwards, answers too large to build) and a run with few retries. A run that
    fails must say so as a Confluence failure (exit 1, no setting named as the cause) and must not have deleted
    anything that still exists; the next run, on a healthy server, must leave the index exactly as it should be."""
    from destinations.es_errors import find_wrapped_error
    from pipelines.confluence_to_es import EXIT_FAILED, USER_ERRORS, exit_code_of

    harness = make_harness(flavour)
    harness.configure("*", SOURCES__CONFLUENCE__RETRY_COUNT="2", SOURCES__CONFLUENCE__MAX_RETRY_DELAY="0.05")
    harness.run()
    faults = random.Random(seed)
    changes = RandomChanges(harness, random.Random(seed))
    for number in range(1, ROUNDS + 1):
        changes.round(CHANGES_PER_ROUND)
        before = set(harness.docs())
        for _ in range(faults.randint(1, 2)):
            kind = faults.choice(FAULT_KINDS)
            extra: dict[str, Any] = {"max_bytes": faults.randint(3_000, 60_000)} if kind == "too_large" else {}
            if kind in ("rate_limit", "service_unavailable"):
                extra["retry_after"] = 0
            chance = faults.choice([0.05, 0.15, 0.3, 0.6])
            harness.sim.faults.add(FaultRule(kind=kind, endpoint="*", probability=chance,
                                             max_fires=faults.randint(1, 40), **extra))
        rules = harness.sim.faults.snapshot()
        outcome = "succeeded"
        try:
            harness.run(allow_mass_delete=True)
        except Exception as error:  # what the command line would print and exit with
            cause = error if isinstance(error, USER_ERRORS) else find_wrapped_error(error, USER_ERRORS)
            assert cause is not None and exit_code_of(cause) == EXIT_FAILED, (rules, repr(error))
            outcome = f"failed: {cause}"
        harness.sim.faults.clear()
        expected = set().union(*harness.visible().values())
        history = "\n".join(f"round {index}: {text}" for index, text in enumerate(changes.log, 1))
        lost = (expected & before) - set(harness.docs())
        assert not lost, f"seed {seed}, round {number} {outcome}: lost {sorted(lost)[:5]}; faults {rules}\n{history}"

        harness.run(allow_mass_delete=True)
        indexed = set(harness.docs())
        assert indexed == expected, (
            f"seed {seed}, round {number} {outcome}, then a run without faults: missing "
            f"{sorted(expected - indexed)[:5]}, unexpected {sorted(indexed - expected)[:5]}; faults {rules}\n{history}")
    assert sum(harness.sim.stats()["faults"].values()) > 0  # the runs did meet faults

"""Confluence storage-format (XHTML) bodies that look like the ones real sites hold.

The ETL has to turn these into clean text and Markdown, so the bodies deliberately contain what makes that hard:
inline tags that split a word (``Con<strong>flu</strong>ence``), macros whose parameters must not leak into the text
(Jira, include, status), CDATA code blocks, panels with rich-text bodies, links to pages, user mentions, images,
emoticons and emoji, task lists, layouts, HTML named entities (``&nbsp;`` is legal in storage format but not in
plain XML), and text in several scripts.

Speed matters (the large preset has ~50,000 bodies): a `TextPool` pre-builds paragraphs and blocks once per seed,
and `StorageBodyWriter` only picks and joins them, so a body costs a few microseconds per block.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from html import escape
from typing import Callable, Literal, Sequence

BodySize = Literal["short", "normal", "long", "huge"]

# Vocabulary for English prose. Long words are there so inline tags have something to split.
_NOUNS = (
    "deployment pipeline cluster service database migration release roadmap customer invoice budget contract "
    "dashboard incident postmortem runbook architecture gateway repository integration certificate credential "
    "workflow checklist milestone stakeholder requirement specification benchmark latency throughput replica "
    "partition schema index snapshot backup rollback dependency library framework interface endpoint payload "
    "configuration environment namespace container registry scheduler queue consumer producer topic message "
    "handbook onboarding interview retrospective sprint backlog estimate forecast revenue quarter objective "
    "metric alert threshold escalation vendor procurement compliance audit policy guideline template meeting "
    "agenda decision proposal review approval feedback survey analysis report summary diagram prototype"
).split()
_VERBS = (
    "reviews updates validates deploys configures monitors replaces documents migrates archives publishes "
    "approves schedules measures tracks improves simplifies describes restores synchronizes exports imports "
    "summarizes references supersedes requires blocks unblocks escalates automates verifies"
).split()
_ADJECTIVES = (
    "quarterly critical internal external distributed encrypted automated manual redundant legacy modern "
    "temporary permanent regional global confidential public experimental stable deprecated scalable "
    "resilient incremental comprehensive preliminary final detailed"
).split()
_ADVERBS = "carefully quickly weekly daily automatically manually eventually immediately rarely".split()
_CONNECTORS = ("before", "after", "during", "because of", "instead of", "together with", "without", "for")
_TEAMS = ("platform team", "data team", "security team", "finance department", "support desk", "design guild")

# Real sentences in other scripts, so language handling and Unicode round-trips get exercised.
_FOREIGN_SENTENCES: dict[str, tuple[str, ...]] = {
    "zh": (
        "本文档介绍了部署流程和回滚步骤。",
        "请在发布之前检查所有配置文件。",
        "数据库迁移需要在维护窗口内完成。",
        "季度预算已经由财务部门批准。",
    ),
    "ja": (
        "このページでは障害対応の手順を説明します。",
        "リリース前に必ずバックアップを取得してください。",
        "会議の議事録は毎週更新されます。",
    ),
    "ko": ("이 문서는 배포 절차를 설명합니다.", "모든 변경 사항은 검토 후에 병합됩니다."),
    "ru": (
        "Этот документ описывает процесс развёртывания и отката.",
        "Перед выпуском обязательно проверьте конфигурацию сервера.",
        "Ежеквартальный отчёт утверждён финансовым отделом.",
        "Резервные копии хранятся в течение тридцати дней.",
    ),
    "ar": (
        "يصف هذا المستند عملية النشر والتراجع.",
        "يجب مراجعة جميع التغييرات قبل الدمج.",
        "تمت الموافقة على الميزانية الفصلية من قبل قسم المالية.",
    ),
    "el": (
        "Αυτό το έγγραφο περιγράφει τη διαδικασία ανάπτυξης.",
        "Τα αντίγραφα ασφαλείας διατηρούνται για τριάντα ημέρες.",
        "Η τριμηνιαία έκθεση εγκρίθηκε από το οικονομικό τμήμα.",
    ),
    "de": (
        "Die Größe der Datenbank überschreitet bald das Kontingent.",
        "Bitte prüfen Sie die Übersicht vor dem nächsten Release.",
    ),
    "fr": ("Le café de l'équipe façade est fermé pendant la migration.", "Voilà la procédure détaillée, déjà validée."),
    "he": ("מסמך זה מתאר את תהליך הפריסה.",),
    "hi": ("यह दस्तावेज़ परिनियोजन प्रक्रिया का वर्णन करता है।",),
}

_CODE_SNIPPETS: tuple[tuple[str, str], ...] = (
    ("python", 'def retry(call, attempts=3):\n    for attempt in range(attempts):\n        try:\n'
               '            return call()\n        except TimeoutError as error:\n'
               '            if attempt == attempts - 1 and "fatal" in str(error):\n                raise\n'),
    ("java", 'public final class RetryPolicy {\n    private final int attempts;\n'
             '    public boolean shouldRetry(int status) { return status >= 500 && status < 600; }\n}\n'),
    ("bash", '#!/usr/bin/env bash\nset -euo pipefail\nfor host in $(cat hosts.txt); do\n'
             '  ssh "$host" "sudo systemctl restart confluence" && echo "ok: $host" >> restart.log\ndone\n'),
    ("sql", "SELECT s.spacekey, COUNT(*) AS pages\nFROM content c JOIN spaces s ON c.spaceid = s.spaceid\n"
            "WHERE c.contenttype = 'PAGE' AND c.prevver IS NULL AND c.lastmoddate < '2025-01-01'\n"
            "GROUP BY s.spacekey HAVING COUNT(*) > 10;\n"),
    ("yaml", "services:\n  indexer:\n    image: registry.example.com/indexer:4.2.1\n    environment:\n"
             "      BATCH_SIZE: \"500\"\n      ES_HOSTS: http://127.0.0.1:9200\n"),
    ("json", '{\n  "query": {"bool": {"filter": [{"term": {"space_key": "ENG"}}]}},\n  "size": 25\n}\n'),
    ("xml", '<configuration>\n  <appender name="FILE" class="ch.qos.logback.core.FileAppender">\n'
            '    <file>logs/app.log</file>\n  </appender>\n  <root level="INFO"/>\n</configuration>\n'),
    ("javascript", "const total = items.filter((item) => item.price > 0 && item.qty >= 1)\n"
                   "  .reduce((sum, item) => sum + item.price * item.qty, 0);\n"),
)
# A snippet whose text contains "]]>", which storage format must split across two CDATA sections.
_CDATA_SPLIT_SNIPPET = ("python", "matrix = grid[rows[0]]", "> limit  # comparison after a nested index\n")

_EMOTICONS = ("smile", "sad", "cheeky", "laugh", "wink", "thumbs-up", "thumbs-down", "information", "tick",
              "cross", "warning", "plus", "minus", "question", "light-on", "light-off", "yellow-star")
_EMOJI = (("rocket", "1f680", "\U0001F680"), ("tada", "1f389", "\U0001F389"), ("fire", "1f525", "\U0001F525"),
          ("white_check_mark", "2705", "\u2705"), ("warning", "26a0", "\u26A0\uFE0F"), ("eyes", "1f440", "\U0001F440"))
_STATUS_COLOURS = ("Green", "Yellow", "Red", "Blue", "Grey")
_STATUS_WORDS = ("DONE", "IN PROGRESS", "BLOCKED", "ON TRACK", "AT RISK", "DRAFT")
_PANELS = ("info", "note", "warning", "tip")
_INLINE_TAGS = ("strong", "em", "code", "u", "s", "sup", "sub")
# Named HTML entities appear in real storage bodies (the editor writes them); an XML parser needs them mapped.


def _esc(text: str, quote: bool = True) -> str:
    """XML-escape text; the em dash becomes `&mdash;` as the editor writes it (and keeps bodies 1 byte/char)."""
    return escape(text, quote).replace("\u2014", "&mdash;")


def sentence_from(rng: random.Random) -> str:
    """One plausible English sentence from the vocabulary (no markup)."""
    pattern = rng.randrange(6)
    noun_a, noun_b, noun_c = rng.choice(_NOUNS), rng.choice(_NOUNS), rng.choice(_NOUNS)
    if pattern == 0:
        text = f"The {rng.choice(_ADJECTIVES)} {noun_a} {rng.choice(_VERBS)} the {noun_b} {rng.choice(_CONNECTORS)} the {noun_c}"
    elif pattern == 1:
        text = f"Our {rng.choice(_TEAMS)} {rng.choice(_ADVERBS)} {rng.choice(_VERBS)} every {noun_a} {rng.choice(_CONNECTORS)} a {rng.choice(_ADJECTIVES)} {noun_b}"
    elif pattern == 2:
        text = f"Each {noun_a} {rng.choice(_VERBS)} {rng.randrange(2, 250)} {noun_b}s and {rng.choice(_VERBS)} the {rng.choice(_ADJECTIVES)} {noun_c}"
    elif pattern == 3:
        text = f"If the {noun_a} fails, the {rng.choice(_TEAMS)} {rng.choice(_VERBS)} the {noun_b} within {rng.randrange(1, 48)} hours"
    elif pattern == 4:
        text = f"See the {rng.choice(_ADJECTIVES)} {noun_a} for details on the {noun_b} {rng.choice(_CONNECTORS)} {noun_c} changes"
    else:
        text = f"Don't {rng.choice(_VERBS)[:-1]} the {noun_a} — the {rng.choice(_TEAMS)} owns the {noun_b}"
    return text[0].upper() + text[1:] + rng.choice((".", ".", ".", "!", "?"))


def _split_word_with_tag(rng: random.Random, word: str) -> str:
    """Wrap the middle of a word in an inline tag: 'Confluence' -> 'Con<strong>flu</strong>ence'."""
    cut_a = rng.randrange(1, len(word) - 2)
    cut_b = rng.randrange(cut_a + 1, len(word))
    tag = rng.choice(_INLINE_TAGS)
    return f"{_esc(word[:cut_a])}<{tag}>{_esc(word[cut_a:cut_b])}</{tag}>{_esc(word[cut_b:])}"


def _markup_sentence(rng: random.Random, sentence: str) -> str:
    """Escape a sentence and decorate some words with inline markup, links or entities."""
    words = sentence.split(" ")
    out: list[str] = []
    for word in words:
        roll = rng.random()
        if roll < 0.06 and len(word) >= 6 and word.isalpha():
            out.append(_split_word_with_tag(rng, word))
        elif roll < 0.10:
            tag = rng.choice(("strong", "em", "code"))
            out.append(f"<{tag}>{_esc(word)}</{tag}>")
        elif roll < 0.115 and word.isalpha():
            out.append(f'<a href="https://docs.example.com/{_esc(word.lower())}?ref=wiki&amp;lang=en">{_esc(word)}</a>')
        elif roll < 0.125 and word.isalpha():
            out.append(f'<span style="color: rgb(222,53,11);">{_esc(word)}</span>')
        else:
            out.append(_esc(word))
    if len(out) > 1 and rng.random() < 0.08:
        # the editor writes a non-breaking space between two words as a named entity
        cut = rng.randrange(1, len(out))
        text = " ".join(out[:cut]) + "&nbsp;" + " ".join(out[cut:])
    else:
        text = " ".join(out)
    if rng.random() < 0.5:  # typographic punctuation as named entities, as the editor saves it
        text = text.replace("&#x27;", "&rsquo;")
    return text


@dataclass
class TextPool:
    """Pre-built text and markup fragments for one seed, shared by all bodies of a site."""

    seed: int
    plain_sentences: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)  # "<p>…</p>" with inline markup
    foreign_paragraphs: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # heading text (escaped)

    @classmethod
    def build(cls, seed: int, paragraph_count: int = 1500) -> "TextPool":
        rng = random.Random(f"text-pool:{seed}")
        pool = cls(seed=seed)
        pool.plain_sentences = [sentence_from(rng) for _ in range(3000)]
        for _ in range(paragraph_count):
            sentences = rng.sample(pool.plain_sentences, rng.randrange(2, 6))
            pool.paragraphs.append("<p>" + " ".join(_markup_sentence(rng, s) for s in sentences) + "</p>")
        languages = sorted(_FOREIGN_SENTENCES)
        for _ in range(200):
            language = rng.choice(languages)
            sentences = _FOREIGN_SENTENCES[language]
            chosen = [rng.choice(sentences) for _ in range(rng.randrange(1, 4))]
            separator = "" if language in ("zh", "ja") else " "
            text = separator.join(_esc(sentence) for sentence in chosen)
            if rng.random() < 0.5:
                text += " " + _esc(rng.choice(pool.plain_sentences))
            pool.foreign_paragraphs.append(f'<p lang="{language}">{text}</p>')
        for _ in range(400):
            heading = f"{rng.choice(_ADJECTIVES).capitalize()} {rng.choice(_NOUNS)} {rng.choice(('overview', 'steps', 'notes', 'details', 'status', 'owners', 'risks'))}"
            pool.headings.append(_esc(heading))
        return pool


@dataclass(frozen=True)
class BodyContext:
    """What a body may refer to: pages to link, people to mention, files to show, the Jira project to cite."""

    space_key: str
    title: str
    link_targets: Sequence[tuple[str, str]] = ()  # (space key, page title)
    mention_account_ids: Sequence[str] = ()
    image_file_names: Sequence[str] = ()
    jira_project: str = "PROJ"


class StorageBodyWriter:
    """Composes storage-format bodies from a `TextPool` with a caller-supplied random generator."""

    def __init__(self, pool: TextPool) -> None:
        self.pool = pool
        # weighted block makers for page bodies; prose dominates as on real pages
        self._blocks: list[tuple[Callable[[random.Random, BodyContext], str], int]] = [
            (self._paragraph, 40),
            (self._heading_and_paragraph, 8),
            (self._bullet_list, 6),
            (self._table, 4),
            (self._code_macro, 4),
            (self._panel, 4),
            (self._page_link_paragraph, 4),
            (self._mention_paragraph, 3),
            (self._jira_macro, 2),
            (self._include_macro, 1),
            (self._image, 2),
            (self._emoticon_paragraph, 1),
            (self._foreign_paragraph, 2),
            (self._task_list, 2),
            (self._expand_macro, 2),
            (self._status_macro, 2),
            (self._layout, 1),
            (self._blockquote, 1),
            (self._time_paragraph, 1),
            (self._horizontal_rule, 1),
        ]
        self._makers = [maker for maker, _ in self._blocks]
        cumulative = 0
        self._cumulative: list[int] = []
        for _, weight in self._blocks:
            cumulative += weight
            self._cumulative.append(cumulative)

    # ---- public ----------------------------------------------------------------------------------------
    def page_body(self, rng: random.Random, context: BodyContext, size: BodySize = "normal") -> str:
        """A page or blog post body. `huge` bodies exceed 200 KB."""
        if size == "short":
            block_count = rng.randrange(1, 4)
        elif size == "normal":
            block_count = rng.randrange(3, 13)
        elif size == "long":
            block_count = rng.randrange(30, 70)
        else:
            block_count = 0
        parts: list[str] = []
        if rng.random() < 0.15:
            parts.append('<ac:structured-macro ac:name="toc" ac:schema-version="1" ac:macro-id="'
                         f'{_macro_id(rng)}"><ac:parameter ac:name="maxLevel">3</ac:parameter></ac:structured-macro>')
        choices = rng.choices(self._makers, cum_weights=self._cumulative, k=block_count)
        parts.extend(maker(rng, context) for maker in choices)
        body = "".join(parts)
        if size == "huge":
            body = self._huge(rng, context)
        return body

    def comment_body(self, rng: random.Random, context: BodyContext) -> str:
        """A short comment: one to three paragraphs, sometimes a mention, a code block or an emoji."""
        parts = [rng.choice(self.pool.paragraphs) for _ in range(rng.randrange(1, 3))]
        roll = rng.random()
        if roll < 0.2:
            parts.append(self._mention_paragraph(rng, context))
        elif roll < 0.3:
            parts.append(self._code_macro(rng, context))
        elif roll < 0.4:
            parts.append(self._emoticon_paragraph(rng, context))
        elif roll < 0.5:
            parts.append(self._foreign_paragraph(rng, context))
        return "".join(parts)

    @staticmethod
    def inline_marker_paragraph(marker_ref: str, selection: str, lead: str = "Reviewers, please check") -> str:
        """A paragraph holding the highlighted text an inline comment is attached to."""
        return (f"<p>{_esc(lead)}: <ac:inline-comment-marker ac:ref=\"{marker_ref}\">{_esc(selection)}"
                "</ac:inline-comment-marker> before the next review.</p>")

    # ---- blocks ----------------------------------------------------------------------------------------
    def _paragraph(self, rng: random.Random, context: BodyContext) -> str:
        return rng.choice(self.pool.paragraphs)

    def _heading_and_paragraph(self, rng: random.Random, context: BodyContext) -> str:
        level = rng.choice((1, 2, 2, 3, 3, 4))
        return f"<h{level}>{rng.choice(self.pool.headings)}</h{level}>{rng.choice(self.pool.paragraphs)}"

    def _bullet_list(self, rng: random.Random, context: BodyContext) -> str:
        tag = rng.choice(("ul", "ul", "ol"))
        items: list[str] = []
        for _ in range(rng.randrange(2, 7)):
            item = _esc(rng.choice(self.pool.plain_sentences))
            if rng.random() < 0.15:
                nested = "".join(f"<li>{_esc(rng.choice(self.pool.plain_sentences))}</li>" for _ in range(2))
                item += f"<ul>{nested}</ul>"
            elif rng.random() < 0.2:
                item = f"<p>{item}</p>"  # the editor wraps list text in <p> once a list item was edited
            items.append(f"<li>{item}</li>")
        return f"<{tag}>{''.join(items)}</{tag}>"

    def _table(self, rng: random.Random, context: BodyContext) -> str:
        columns = rng.randrange(2, 5)
        header = "".join(f"<th><p><strong>{_esc(rng.choice(_NOUNS).capitalize())}</strong></p></th>"
                         for _ in range(columns))
        rows = []
        for row in range(rng.randrange(2, 7)):
            cells = []
            for column in range(columns):
                if column == 0:
                    cells.append(f"<td><p>{_esc(rng.choice(_ADJECTIVES))} {_esc(rng.choice(_NOUNS))}</p></td>")
                elif rng.random() < 0.3:
                    cells.append(f"<td>{rng.randrange(1, 99999):,}</td>")
                else:
                    cells.append(f"<td><p>{_esc(rng.choice(self.pool.plain_sentences))}</p></td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return f'<table data-layout="default"><colgroup>{"<col />" * columns}</colgroup><tbody><tr>{header}</tr>{"".join(rows)}</tbody></table>'

    def _code_macro(self, rng: random.Random, context: BodyContext) -> str:
        if rng.random() < 0.03:
            language, head, tail = _CDATA_SPLIT_SNIPPET
            cdata = f"<![CDATA[{head}]]]]><![CDATA[>{tail}]]>"
        else:
            language, code = rng.choice(_CODE_SNIPPETS)
            cdata = f"<![CDATA[{code}]]>"
        title = ""
        if rng.random() < 0.3:
            title = f'<ac:parameter ac:name="title">{_esc(rng.choice(_NOUNS))}.{language}</ac:parameter>'
        return (f'<ac:structured-macro ac:name="code" ac:schema-version="1" ac:macro-id="{_macro_id(rng)}">'
                f'<ac:parameter ac:name="language">{language}</ac:parameter>{title}'
                '<ac:parameter ac:name="linenumbers">true</ac:parameter>'
                f"<ac:plain-text-body>{cdata}</ac:plain-text-body></ac:structured-macro>")

    def _panel(self, rng: random.Random, context: BodyContext) -> str:
        kind = rng.choice(_PANELS)
        title = ""
        if rng.random() < 0.5:
            title = f'<ac:parameter ac:name="title">{rng.choice(self.pool.headings)}</ac:parameter>'
        inner = rng.choice(self.pool.paragraphs)
        if rng.random() < 0.3:
            inner += self._bullet_list(rng, context)
        return (f'<ac:structured-macro ac:name="{kind}" ac:schema-version="1" ac:macro-id="{_macro_id(rng)}">'
                f"{title}<ac:rich-text-body>{inner}</ac:rich-text-body></ac:structured-macro>")

    def _page_link_paragraph(self, rng: random.Random, context: BodyContext) -> str:
        if not context.link_targets:
            return rng.choice(self.pool.paragraphs)
        space_key, title = rng.choice(context.link_targets)
        space_attr = "" if space_key == context.space_key else f' ri:space-key="{_esc(space_key)}"'
        if rng.random() < 0.5:
            link = (f'<ac:link><ri:page ri:content-title="{_esc(title)}"{space_attr} />'
                    f"<ac:plain-text-link-body><![CDATA[{title}]]></ac:plain-text-link-body></ac:link>")
        else:
            link = f'<ac:link><ri:page ri:content-title="{_esc(title)}"{space_attr} /></ac:link>'
        return f"<p>For background, read {link} first. {_esc(rng.choice(self.pool.plain_sentences))}</p>"

    def _mention_paragraph(self, rng: random.Random, context: BodyContext) -> str:
        if not context.mention_account_ids:
            return rng.choice(self.pool.paragraphs)
        account_id = rng.choice(context.mention_account_ids)
        return (f'<p>Owner: <ac:link><ri:user ri:account-id="{account_id}" /></ac:link>. '
                f"{_esc(rng.choice(self.pool.plain_sentences))}</p>")

    def _jira_macro(self, rng: random.Random, context: BodyContext) -> str:
        key = f"{context.jira_project}-{rng.randrange(1, 4000)}"
        if rng.random() < 0.7:
            params = (f'<ac:parameter ac:name="server">System JIRA</ac:parameter>'
                      '<ac:parameter ac:name="columnIds">issuekey,summary,issuetype,status</ac:parameter>'
                      '<ac:parameter ac:name="columns">key,summary,type,status</ac:parameter>'
                      '<ac:parameter ac:name="serverId">9f2c1e7a-3b4d-4c5e-8f60-7a1b2c3d4e5f</ac:parameter>'
                      f'<ac:parameter ac:name="key">{key}</ac:parameter>')
        else:
            params = (f'<ac:parameter ac:name="server">System JIRA</ac:parameter>'
                      f'<ac:parameter ac:name="jqlQuery">project = {context.jira_project} AND status != Done</ac:parameter>'
                      '<ac:parameter ac:name="maximumIssues">20</ac:parameter>'
                      '<ac:parameter ac:name="serverId">9f2c1e7a-3b4d-4c5e-8f60-7a1b2c3d4e5f</ac:parameter>')
        macro = f'<ac:structured-macro ac:name="jira" ac:schema-version="1" ac:macro-id="{_macro_id(rng)}">{params}</ac:structured-macro>'
        return f"<p>Tracked in {macro}</p>"

    def _include_macro(self, rng: random.Random, context: BodyContext) -> str:
        if not context.link_targets:
            return rng.choice(self.pool.paragraphs)
        space_key, title = rng.choice(context.link_targets)
        space_attr = "" if space_key == context.space_key else f' ri:space-key="{_esc(space_key)}"'
        return (f'<ac:structured-macro ac:name="include" ac:schema-version="1" ac:macro-id="{_macro_id(rng)}">'
                f'<ac:parameter ac:name=""><ac:link><ri:page ri:content-title="{_esc(title)}"{space_attr} />'
                "</ac:link></ac:parameter></ac:structured-macro>")

    def _image(self, rng: random.Random, context: BodyContext) -> str:
        if context.image_file_names:
            name = rng.choice(context.image_file_names)
            source = f'<ri:attachment ri:filename="{_esc(name)}" />'
        else:
            source = '<ri:url ri:value="https://images.example.com/diagrams/overview.png" />'
        caption = ""
        if rng.random() < 0.3:
            caption = f"<ac:caption><p>{_esc(rng.choice(self.pool.plain_sentences))}</p></ac:caption>"
        return (f'<p><ac:image ac:align="center" ac:layout="center" ac:alt="diagram" ac:width="{rng.choice((400, 600, 760))}">'
                f"{source}{caption}</ac:image></p>")

    def _emoticon_paragraph(self, rng: random.Random, context: BodyContext) -> str:
        if rng.random() < 0.7:
            icon = f'<ac:emoticon ac:name="{rng.choice(_EMOTICONS)}" />'
        else:
            shortname, emoji_id, fallback = rng.choice(_EMOJI)
            icon = (f'<ac:emoticon ac:name="blue-star" ac:emoji-shortname=":{shortname}:" '
                    f'ac:emoji-id="{emoji_id}" ac:emoji-fallback="{fallback}" />')
        return f"<p>{_esc(rng.choice(self.pool.plain_sentences))} {icon}</p>"

    def _foreign_paragraph(self, rng: random.Random, context: BodyContext) -> str:
        return rng.choice(self.pool.foreign_paragraphs)

    def _task_list(self, rng: random.Random, context: BodyContext) -> str:
        tasks = []
        for task_id in range(1, rng.randrange(2, 6)):
            status = rng.choice(("complete", "incomplete", "incomplete"))
            text = _esc(rng.choice(self.pool.plain_sentences))
            if context.mention_account_ids and rng.random() < 0.3:
                text += f' <ac:link><ri:user ri:account-id="{rng.choice(context.mention_account_ids)}" /></ac:link>'
            tasks.append(f"<ac:task><ac:task-id>{task_id}</ac:task-id><ac:task-uuid>{_macro_id(rng)}</ac:task-uuid>"
                         f"<ac:task-status>{status}</ac:task-status><ac:task-body>{text}</ac:task-body></ac:task>")
        return f"<ac:task-list>{''.join(tasks)}</ac:task-list>"

    def _expand_macro(self, rng: random.Random, context: BodyContext) -> str:
        return (f'<ac:structured-macro ac:name="expand" ac:schema-version="1" ac:macro-id="{_macro_id(rng)}">'
                '<ac:parameter ac:name="title">Click here to expand...</ac:parameter>'
                f"<ac:rich-text-body>{rng.choice(self.pool.paragraphs)}</ac:rich-text-body></ac:structured-macro>")

    def _status_macro(self, rng: random.Random, context: BodyContext) -> str:
        macro = (f'<ac:structured-macro ac:name="status" ac:schema-version="1" ac:macro-id="{_macro_id(rng)}">'
                 f'<ac:parameter ac:name="colour">{rng.choice(_STATUS_COLOURS)}</ac:parameter>'
                 f'<ac:parameter ac:name="title">{rng.choice(_STATUS_WORDS)}</ac:parameter></ac:structured-macro>')
        return f"<p>Status: {macro} {_esc(rng.choice(self.pool.plain_sentences))}</p>"

    def _layout(self, rng: random.Random, context: BodyContext) -> str:
        cells = "".join(f"<ac:layout-cell>{rng.choice(self.pool.paragraphs)}</ac:layout-cell>" for _ in range(2))
        return f'<ac:layout><ac:layout-section ac:type="two_equal">{cells}</ac:layout-section></ac:layout>'

    def _blockquote(self, rng: random.Random, context: BodyContext) -> str:
        return f"<blockquote>{rng.choice(self.pool.paragraphs)}</blockquote>"

    def _time_paragraph(self, rng: random.Random, context: BodyContext) -> str:
        day = f"20{rng.randrange(20, 26)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        return f'<p>Next review on <time datetime="{day}" />.<br />{_esc(rng.choice(self.pool.plain_sentences))}</p>'

    def _horizontal_rule(self, rng: random.Random, context: BodyContext) -> str:
        return "<hr />"

    def _huge(self, rng: random.Random, context: BodyContext) -> str:
        """A body over 200 KB: an appendix of many sections, as exported logs or generated reference pages are."""
        parts: list[str] = ["<h1>Appendix</h1>"]
        total = 0
        section = 0
        while total < 210_000:
            section += 1
            block = (f"<h2>Section {section}: {rng.choice(self.pool.headings)}</h2>"
                     + "".join(rng.choice(self.pool.paragraphs) for _ in range(6))
                     + self._table(rng, context))
            if section % 7 == 0:
                block += self._code_macro(rng, context)
            if section % 11 == 0:
                block += self._foreign_paragraph(rng, context)
            parts.append(block)
            total += len(block)
        return "".join(parts)


def _macro_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def to_datacenter_storage(body: str, user_key_by_account_id: dict[str, str]) -> str:
    """Rewrite Cloud user references (`ri:account-id`) to the Data Center form (`ri:userkey`).

    Bodies are stored once in Cloud form; a Data Center rendering calls this so mentions carry user keys, as a
    real DC site's storage format does.
    """
    if "ri:account-id=" not in body:
        return body
    out: list[str] = []
    position = 0
    marker = 'ri:account-id="'
    while True:
        start = body.find(marker, position)
        if start < 0:
            out.append(body[position:])
            break
        value_start = start + len(marker)
        value_end = body.find('"', value_start)
        account_id = body[value_start:value_end]
        out.append(body[position:start])
        out.append(f'ri:userkey="{user_key_by_account_id.get(account_id, account_id)}"')
        position = value_end + 1
    return "".join(out)

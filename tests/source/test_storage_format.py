"""Storage-format XHTML -> search text and Markdown.

The snippets have the shapes Confluence itself stores (Cloud and Server/DC editors): macros with
parameters and macro ids, CDATA code bodies, resource identifiers, ADF extensions with their
fallback copy, task lists, layouts. Each test states what a reader (or the search index) must see
and what must never appear.
"""

from __future__ import annotations

import logging
import re
import threading
import time

import pytest

from confluence_source.storage_format import ConvertedBody, convert_storage, storage_to_text
from confluence_source.storage_parse import parse_storage

MACHINERY = re.compile(r"ac:|ri:|CDATA\[|schema-version|macro-id")
CODE_FENCE = re.compile(r"(`{3,})[^\n`]*\n.*?\n *\1$", re.MULTILINE | re.DOTALL)


def convert(storage: str, **kwargs: object) -> ConvertedBody:
    return convert_storage(storage, **kwargs)  # type: ignore[arg-type]


def page_url(title: str, space_key: str | None) -> str:
    return f"https://wiki.example.com/display/{space_key or 'HOME'}/{title.replace(' ', '+')}"


def blog_url(title: str, space_key: str | None, posting_day: str) -> str:
    return f"https://wiki.example.com/display/{space_key or 'HOME'}/{posting_day}/{title.replace(' ', '+')}"


def attachment_url(file_name: str) -> str:
    return f"https://wiki.example.com/download/attachments/42/{file_name.replace(' ', '%20')}"


LINKS = {"page_url": page_url, "blog_url": blog_url, "attachment_url": attachment_url}


def assert_clean(body: ConvertedBody) -> None:
    """Invariants: no trailing spaces, no run of blank lines (code blocks in Markdown stay verbatim),
    nothing of the storage markup in the text."""
    for rendering in (body.text, CODE_FENCE.sub("code", body.markdown)):
        assert not re.search(r"[ \t]$", rendering, re.MULTILINE), rendering
        assert "\n\n\n" not in rendering, rendering
        assert rendering == rendering.rstrip().lstrip("\n")
    assert not MACHINERY.search(body.text), body.text
    assert not MACHINERY.search(body.markdown), body.markdown


# --------------------------------------------------------------------------- words and inline markup


def test_inline_tags_do_not_split_words() -> None:
    body = convert("<p>Con<strong>flu</strong>ence is <em>really</em> <u>fast</u> and <s>slow</s>.</p>")
    assert body.text == "Confluence is really fast and slow."
    assert body.markdown == "Con**flu**ence is *really* fast and ~~slow~~."
    assert_clean(body)


def test_whitespace_inside_emphasis_moves_outside_the_markers() -> None:
    body = convert("<p>a<strong> bold </strong>b <em>\n  spread\n  out </em>c</p>")
    assert body.text == "a bold b spread out c"
    assert body.markdown == "a **bold** b *spread out* c"


def test_block_elements_are_separate_lines_and_source_layout_whitespace_is_collapsed() -> None:
    storage = """
    <h1>Release   notes</h1>
    <p>
        First   paragraph
        spans lines.
    </p>
    <div><p>In a div</p>tail text</div>
    <p>one<br/>two<br/><br/><br/><br/>three</p>
    """
    body = convert(storage)
    assert body.text == "Release notes\nFirst paragraph spans lines.\nIn a div\ntail text\none\ntwo\n\nthree"
    assert body.markdown.startswith("# Release notes\n\nFirst paragraph spans lines.\n\nIn a div\n\ntail text")
    assert_clean(body)


def test_code_spans_use_a_fence_longer_than_their_backticks() -> None:
    body = convert("<p>Run <code>make all</code> or <code>echo `date`</code> now</p>")
    assert body.text == "Run make all or echo `date` now"
    assert body.markdown == "Run `make all` or `` echo `date` `` now"


def test_markdown_special_characters_in_text_are_escaped_but_snake_case_is_left_alone() -> None:
    body = convert(
        "<p># not a heading</p><p>1. not a list</p><p>- not a bullet</p>"
        "<p>snake_case_name, *stars*, [brackets], _lead and a &lt;tag&gt;</p>"
    )
    assert body.text.splitlines() == [
        "# not a heading",
        "1. not a list",
        "- not a bullet",
        "snake_case_name, *stars*, [brackets], _lead and a <tag>",
    ]
    assert body.markdown.split("\n\n") == [
        "\\# not a heading",
        "1\\. not a list",
        "\\- not a bullet",
        "snake_case_name, \\*stars\\*, \\[brackets\\], \\_lead and a \\<tag>",
    ]


# --------------------------------------------------------------------------- entities, CDATA, unicode


def test_html_named_entities_become_characters() -> None:
    body = convert(
        "<p>A&nbsp;&rarr;&nbsp;B &mdash; caf&eacute; &hellip; &copy;2024 &euro;5 &#8364;6 &#x2603; "
        "&lt;b&gt; &amp;amp; &quot;q&quot; &apos;s&apos;</p>"
    )
    assert body.text == "A → B — café … ©2024 €5 €6 ☃ <b> &amp; \"q\" 's'"


def test_unknown_entities_and_bare_ampersands_stay_as_literal_text() -> None:
    body = convert("<p>AT&T &notanentity; R&amp;D &#9731;</p><p>next</p>")
    assert body.text == "AT&T &notanentity; R&D ☃\nnext"


def test_code_macro_keeps_its_cdata_body_verbatim_with_the_language_fence() -> None:
    storage = (
        '<ac:structured-macro ac:name="code" ac:schema-version="1" ac:macro-id="d8b2f6c1">'
        '<ac:parameter ac:name="language">python</ac:parameter>'
        '<ac:parameter ac:name="theme">Midnight</ac:parameter>'
        '<ac:parameter ac:name="linenumbers">true</ac:parameter>'
        "<ac:plain-text-body><![CDATA[def main():\n    if a < b and c > d:\n        return \"&amp;\"   \n]]>"
        "</ac:plain-text-body></ac:structured-macro>"
    )
    body = convert(storage)
    assert body.text == 'def main():\n    if a < b and c > d:\n        return "&amp;"'
    assert body.markdown == '```python\ndef main():\n    if a < b and c > d:\n        return "&amp;"\n```'
    for leaked in ("Midnight", "true", "linenumbers"):
        assert leaked not in body.text and leaked not in body.markdown


def test_entities_and_ampersands_inside_cdata_are_literal_code() -> None:
    storage = (
        '<p>AT&amp;T &rarr;</p><ac:structured-macro ac:name="code"><ac:plain-text-body>'
        '<![CDATA[if a && b: s = "&nbsp;&copy;&amp;" # AT&T <b>]]></ac:plain-text-body></ac:structured-macro>'
        "<p>R&D &hellip;</p>"
    )
    assert convert(storage).text == 'AT&T →\nif a && b: s = "&nbsp;&copy;&amp;" # AT&T <b>\nR&D …'


def test_cdata_end_marker_split_across_sections_is_reassembled() -> None:
    # "]]>" cannot appear inside CDATA; Confluence splits it into "]]" + ">" across two sections.
    storage = (
        '<ac:structured-macro ac:name="code"><ac:plain-text-body>'
        "<![CDATA[x = data[a[i]]]]><![CDATA[>0]]></ac:plain-text-body></ac:structured-macro>"
    )
    assert convert(storage).text == "x = data[a[i]]>0"


def test_code_with_backtick_fences_inside_gets_a_longer_fence() -> None:
    storage = (
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">markdown</ac:parameter>'
        "<ac:plain-text-body><![CDATA[```js\nx()\n```]]></ac:plain-text-body></ac:structured-macro>"
    )
    assert convert(storage).markdown == "````markdown\n```js\nx()\n```\n````"


def test_code_macro_title_and_noformat() -> None:
    storage = (
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="title">setup.sh</ac:parameter>'
        '<ac:parameter ac:name="language">bash</ac:parameter>'
        "<ac:plain-text-body><![CDATA[./configure]]></ac:plain-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="noformat"><ac:parameter ac:name="nopanel">true</ac:parameter>'
        "<ac:plain-text-body><![CDATA[raw   text\n\n\n\nkept]]></ac:plain-text-body></ac:structured-macro>"
    )
    body = convert(storage)
    assert body.text == "setup.sh\n./configure\nraw   text\n\nkept"
    assert body.markdown == "**setup.sh**\n\n```bash\n./configure\n```\n\n```\nraw   text\n\n\n\nkept\n```"


def test_indentation_of_a_leading_code_block_is_kept() -> None:
    body = convert(
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[\n    nested()\n  done()]]>'
        "</ac:plain-text-body></ac:structured-macro>"
    )
    assert body.text == "    nested()\n  done()"
    assert body.markdown == "```\n    nested()\n  done()\n```"


def test_pre_keeps_line_breaks_and_indentation() -> None:
    body = convert("<pre>line 1\n    indented &lt;x&gt;<br/>after br</pre>")
    assert body.text == "line 1\n    indented <x>\nafter br"
    assert body.markdown == "```\nline 1\n    indented <x>\nafter br\n```"


def test_emoji_rtl_cjk_and_combining_text_is_preserved_exactly() -> None:
    samples = [
        "שלום עולם",  # Hebrew
        "\u200fمرحبا بالعالم\u200f",  # Arabic with right-to-left marks
        "家族👨\u200d👩\u200d👧\u200d👦と🇯🇵",  # ZWJ family sequence and a flag
        "日本語\u3000全角スペース",  # ideographic space is text, not layout
        "e\u0301le\u0300ve",  # combining accents
        "em\u2003space",
    ]
    storage = "".join(f"<p>{sample}</p>" for sample in samples)
    body = convert(storage)
    assert body.text.split("\n") == samples
    assert body.markdown.split("\n\n") == samples


@pytest.mark.parametrize(
    "word",
    [
        "super&shy;cali",
        "super\xadcali",
        "super&#173;cali",
        "super&#xAD;cali",
        "super&NoBreak;cali",
        "super\u2060cali",
        "super\ufeffcali",
        "<strong>su</strong>&shy;<em>per</em>cali",
    ],
)
def test_soft_hyphens_and_invisible_joiners_do_not_split_words(word: str) -> None:
    """Elasticsearch's standard tokenizer keeps these inside the token (`super\xadcali`), so `supercali` would never
    match: text pasted from Word is full of soft hyphens."""
    body = convert(f"<p>{word}</p>")
    assert body.text == "supercali"
    assert body.markdown.replace("*", "") == "supercali"


def test_invisible_characters_are_dropped_everywhere_but_a_zero_width_space_is_kept() -> None:
    storage = (
        "<h2>Ab&shy;stract</h2><table><tr><td>cell&shy;text</td></tr></table>"
        '<p><ac:image ac:alt="dia&shy;gram"><ri:url ri:value="https://x.example.com/d.png"/></ac:image> '
        "a\u200bb <strong>&shy;</strong>c</p><p>&shy;# not a heading</p><p>&shy;&lt;b&gt; not a tag</p>"
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[co\xadde &shy;]]>'
        "</ac:plain-text-body></ac:structured-macro>"
    )
    body = convert(storage)
    assert body.text == "Abstract\ncelltext\ndiagram a\u200bb c\n# not a heading\n<b> not a tag\ncode &shy;"
    assert body.markdown == (
        "## Abstract\n\n| celltext |\n|---|\n\n![diagram](https://x.example.com/d.png) a\u200bb c\n\n"
        "\\# not a heading\n\n\\<b> not a tag\n\n```\ncode &shy;\n```"
    )
    # a malformed body (read by the lenient HTML parser) too
    assert convert("<p>super&shy;cali & co<br></p>").text == "supercali & co"
    # and the HTML of an html macro, whose entities are read only when it is rendered
    html_macro = '<ac:structured-macro ac:name="html"><ac:plain-text-body><![CDATA[<p>super&shy;cali</p>]]>'
    assert convert(html_macro + "</ac:plain-text-body></ac:structured-macro>").text == "supercali"


def test_non_breaking_spaces_are_ordinary_spaces_in_the_output() -> None:
    assert convert("<p>a&nbsp;&nbsp;b\u00a0c</p>").text == "a b c"


# --------------------------------------------------------------------------- macros


def test_panel_macros_keep_their_body_and_never_their_parameters() -> None:
    storage = (
        '<ac:structured-macro ac:name="info" ac:schema-version="1" ac:macro-id="1a2b">'
        '<ac:parameter ac:name="icon">false</ac:parameter>'
        "<ac:rich-text-body><p>Read <strong>this</strong> first.</p></ac:rich-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="warning"><ac:parameter ac:name="title">Data loss</ac:parameter>'
        "<ac:rich-text-body><p>Back up.</p><ul><li>db</li><li>files</li></ul></ac:rich-text-body>"
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="panel"><ac:parameter ac:name="bgColor">#DEEBFF</ac:parameter>'
        '<ac:parameter ac:name="title">Contacts</ac:parameter>'
        "<ac:rich-text-body><p>Call ops.</p></ac:rich-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Show details</ac:parameter>'
        "<ac:rich-text-body><p>Hidden text</p></ac:rich-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="tip"><ac:rich-text-body><ul><li>a list first</li></ul>'
        "</ac:rich-text-body></ac:structured-macro>"
    )
    body = convert(storage)
    assert body.text == (
        "Read this first.\nData loss\nBack up.\ndb\nfiles\nContacts\nCall ops.\nShow details\nHidden text\n"
        "a list first"
    )
    assert body.markdown.split("\n\n") == [
        "> **Info:** Read **this** first.",
        "> **Warning: Data loss**\n>\n> Back up.\n>\n> - db\n> - files",
        "> **Contacts**\n>\n> Call ops.",
        "> **Show details**\n>\n> Hidden text",
        "> **Tip:**\n>\n> - a list first",
    ]
    for leaked in ("#DEEBFF", "false", "bgColor", "icon"):
        assert leaked not in body.text and leaked not in body.markdown


def test_adf_panel_is_read_once_and_its_fallback_copy_is_ignored() -> None:
    storage = (
        '<ac:adf-extension><ac:adf-node type="panel">'
        '<ac:adf-attribute key="panel-type">note</ac:adf-attribute>'
        '<ac:adf-attribute key="local-id">93a79b2c2404</ac:adf-attribute>'
        "<ac:adf-content><p>Only once</p></ac:adf-content></ac:adf-node>"
        '<ac:adf-fallback><div class="panel"><p>Only once</p></div></ac:adf-fallback></ac:adf-extension>'
    )
    body = convert(storage)
    assert body.text == "Only once"
    assert body.markdown == "> **Note:** Only once"


def test_adf_expand_keeps_its_title_and_content() -> None:
    storage = (
        '<ac:adf-extension><ac:adf-node type="expand"><ac:adf-attribute key="title">Rollback steps</ac:adf-attribute>'
        "<ac:adf-content><p>Revert the tag.</p></ac:adf-content></ac:adf-node>"
        "<ac:adf-fallback><div><p>Revert the tag.</p></div></ac:adf-fallback></ac:adf-extension>"
    )
    body = convert(storage)
    assert body.text == "Rollback steps\nRevert the tag."
    assert body.markdown == "> **Rollback steps**\n>\n> Revert the tag."


def test_adf_node_without_content_is_read_from_its_fallback() -> None:
    storage = (
        '<p>See <ac:adf-extension><ac:adf-node type="inline-card">'
        '<ac:adf-attribute key="url">https://status.example.com/incident/42</ac:adf-attribute></ac:adf-node>'
        '<ac:adf-fallback><a href="https://status.example.com/incident/42">incident 42</a></ac:adf-fallback>'
        "</ac:adf-extension> now.</p>"
    )
    body = convert(storage)
    assert body.text == "See incident 42 now."
    assert body.markdown == "See [incident 42](https://status.example.com/incident/42) now."


def test_jira_macro_becomes_the_issue_key_only() -> None:
    storage = (
        '<p>Fixed in <ac:structured-macro ac:name="jira" ac:schema-version="1" ac:macro-id="8e1">'
        '<ac:parameter ac:name="server">System JIRA</ac:parameter>'
        '<ac:parameter ac:name="serverId">144880e9-a353-312f-9412-ed028e8166fa</ac:parameter>'
        '<ac:parameter ac:name="key">PROJ-123</ac:parameter></ac:structured-macro>, '
        'see<ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">OPS-9</ac:parameter>'
        "</ac:structured-macro>too.</p>"
        '<ac:structured-macro ac:name="jira"><ac:parameter ac:name="jqlQuery">project = PROJ</ac:parameter>'
        '<ac:parameter ac:name="maximumIssues">20</ac:parameter></ac:structured-macro>'
        '<p><ac:macro ac:name="jira"><ac:default-parameter>OLD-7</ac:default-parameter></ac:macro></p>'
    )
    body = convert(storage)
    assert body.text == "Fixed in PROJ-123, see OPS-9 too.\nOLD-7"
    for leaked in ("System JIRA", "144880e9", "project", "20"):
        assert leaked not in body.text and leaked not in body.markdown


def test_status_macro_becomes_its_title() -> None:
    storage = (
        '<p>State: <ac:structured-macro ac:name="status" ac:schema-version="1">'
        '<ac:parameter ac:name="colour">Green</ac:parameter><ac:parameter ac:name="title">On track</ac:parameter>'
        '<ac:parameter ac:name="subtle">true</ac:parameter></ac:structured-macro></p>'
    )
    body = convert(storage)
    assert body.text == "State: On track"
    assert "Green" not in body.markdown and "true" not in body.markdown


def test_include_and_excerpt_include_name_the_included_page() -> None:
    storage = (
        '<ac:structured-macro ac:name="include" ac:schema-version="1"><ac:parameter ac:name="">'
        '<ac:link><ri:page ri:content-title="Shared Footer" ri:space-key="OPS"/></ac:link>'
        "</ac:parameter></ac:structured-macro>"
        '<ac:structured-macro ac:name="excerpt-include"><ac:parameter ac:name="nopanel">true</ac:parameter>'
        '<ac:parameter ac:name=""><ac:link><ri:page ri:content-title="Glossary"/></ac:link></ac:parameter>'
        "</ac:structured-macro>"
    )
    assert convert(storage).text == "Shared Footer\nGlossary"
    assert convert(storage, page_url=page_url).markdown == (
        "*Included from:* [Shared Footer](https://wiki.example.com/display/OPS/Shared+Footer)\n\n"
        "*Included from:* [Glossary](https://wiki.example.com/display/HOME/Glossary)"
    )
    assert "true" not in convert(storage).markdown


def test_macros_without_a_body_render_nothing_and_unknown_bodies_are_kept() -> None:
    storage = (
        '<ac:structured-macro ac:name="toc"><ac:parameter ac:name="maxLevel">3</ac:parameter>'
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="children"><ac:parameter ac:name="all">true</ac:parameter>'
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">top</ac:parameter></ac:structured-macro>'
        '<ac:structured-macro ac:name="details"><ac:parameter ac:name="id">props</ac:parameter>'
        "<ac:rich-text-body><p>Owner: platform team</p></ac:rich-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="mermaid-cloud"><ac:plain-text-body><![CDATA[graph TD; A-->B]]>'
        "</ac:plain-text-body></ac:structured-macro>"
    )
    body = convert(storage)
    assert body.text == "Owner: platform team\ngraph TD; A-->B"
    assert body.markdown == "Owner: platform team\n\n```mermaid-cloud\ngraph TD; A-->B\n```"


def test_tooltip_macro_shows_its_link_text_and_keeps_the_tooltip() -> None:
    storage = (
        '<p>Ask the <ac:structured-macro ac:name="tooltip" ac:schema-version="1" ac:macro-id="t1">'
        '<ac:parameter ac:name="linkText">SRE rota</ac:parameter>'
        "<ac:rich-text-body><p>Site reliability on-call</p></ac:rich-text-body></ac:structured-macro> today, "
        '<ac:structured-macro ac:name="tooltip"><ac:parameter ac:name="linkText">RTO</ac:parameter>'
        "</ac:structured-macro>.</p>"
    )
    body = convert(storage)
    assert body.text == "Ask the SRE rota (Site reliability on-call) today, RTO."
    assert body.markdown == body.text
    assert_clean(body)


def test_profile_macro_names_its_user_like_a_mention() -> None:
    """Confluence's User Profile macro (`profile`) keeps the user in a `user` parameter holding a `ri:user`."""
    storage = (
        '<p>Owner:<ac:structured-macro ac:name="profile"><ac:parameter ac:name="user">'
        '<ri:user ri:account-id="557058:f00d"/></ac:parameter></ac:structured-macro></p>'
        '<p><ac:structured-macro ac:name="profile"><ac:parameter ac:name="user">'
        '<ri:user ri:userkey="8a7f808a5a2c1b7e015a2c1c9b4e0001"/></ac:parameter></ac:structured-macro>'
        '<ac:structured-macro ac:name="profile"><ac:parameter ac:name="user">jsmith</ac:parameter>'
        "</ac:structured-macro></p>"
    )
    names = {"557058:f00d": "Ada Lovelace"}
    body = convert(storage, user_resolver=names.get)
    # a name never fuses with the word or name next to it
    assert body.text == "Owner:@Ada Lovelace\n@8a7f808a5a2c1b7e015a2c1c9b4e0001 @jsmith"
    assert body.markdown == "Owner:@Ada Lovelace\n\n@8a7f808a5a2c1b7e015a2c1c9b4e0001 @jsmith"
    assert_clean(body)


def test_html_macro_body_is_read_as_html() -> None:
    storage = (
        '<ac:structured-macro ac:name="html"><ac:plain-text-body><![CDATA[<div><b>Raw</b> html'
        "<script>track()</script></div>]]></ac:plain-text-body></ac:structured-macro>"
    )
    body = convert(storage)
    assert body.text == "Raw html"
    assert body.markdown == "**Raw** html"


def test_placeholders_comments_and_inline_comment_markers() -> None:
    storage = (
        "<p><ac:placeholder>Type your summary here</ac:placeholder>Real"
        " <!-- hidden note -->te<ac:inline-comment-marker ac:ref=\"c0ffee\">x</ac:inline-comment-marker>t"
        ' on <time datetime="2024-03-05"/></p>'
    )
    body = convert(storage)
    assert body.text == "Real text on 2024-03-05"
    assert "hidden" not in body.markdown and "Type your" not in body.markdown


# --------------------------------------------------------------------------- links, mentions, images


def test_link_texts_and_targets() -> None:
    storage = (
        '<p>See <a href="https://example.com/a?b=1&amp;c=2">the docs</a>, '
        '<ac:link><ri:page ri:content-title="Release Plan" ri:space-key="ENG"/></ac:link>, '
        '<ac:link ac:anchor="Step 2"><ri:page ri:content-title="Runbook"/>'
        "<ac:plain-text-link-body><![CDATA[step two]]></ac:plain-text-link-body></ac:link>, "
        '<ac:link><ri:attachment ri:filename="Q3 report.pdf"/></ac:link>, '
        '<ac:link><ri:blog-post ri:content-title="Launch news" ri:posting-day="2024/01/30"/>'
        "<ac:link-body>the <strong>launch</strong> post</ac:link-body></ac:link>, "
        '<ac:link ac:anchor="top"><ac:plain-text-link-body><![CDATA[back to top]]></ac:plain-text-link-body>'
        '</ac:link>, <ac:link><ri:space ri:space-key="DOCS"/></ac:link>, '
        '<a href="https://example.com/x y">spaced</a>.</p>'
    )
    body = convert(storage, **LINKS)
    assert body.text == (
        "See the docs, Release Plan, step two, Q3 report.pdf, the launch post, back to top, DOCS, spaced."
    )
    assert body.markdown == (
        "See [the docs](https://example.com/a?b=1&c=2), "
        "[Release Plan](https://wiki.example.com/display/ENG/Release+Plan), "
        "[step two](https://wiki.example.com/display/HOME/Runbook#Step%202), "
        "[Q3 report.pdf](https://wiki.example.com/download/attachments/42/Q3%20report.pdf), "
        "[the **launch** post](https://wiki.example.com/display/HOME/2024/01/30/Launch+news), "
        "[back to top](#top), DOCS, [spaced](<https://example.com/x y>)."
    )


def test_links_to_blog_posts_and_other_pages_files_never_lead_to_a_page_of_the_same_name() -> None:
    """A blog post is found by its posting day, not by a page's title URL (a page may share its title). A file of
    another page links to that page: the download URL needs that page's id, which the body does not give."""
    storage = (
        '<p><ac:link><ri:blog-post ri:content-title="News" ri:space-key="OPS" ri:posting-day="2024/01/02"/>'
        '</ac:link>, <ac:link><ri:blog-post ri:content-title="Undated"/></ac:link>, '
        '<ac:link><ri:attachment ri:filename="plan.pdf"><ri:page ri:content-title="Roadmap"/></ri:attachment>'
        '</ac:link>, <ac:image ac:alt="their chart"><ri:attachment ri:filename="c.png">'
        '<ri:page ri:content-title="Roadmap"/></ri:attachment></ac:image></p>'
    )
    body = convert(storage, **LINKS)
    assert body.text == "News, Undated, plan.pdf, their chart c.png"
    assert body.markdown == (
        "[News](https://wiki.example.com/display/OPS/2024/01/02/News), Undated, "
        "[plan.pdf](https://wiki.example.com/display/HOME/Roadmap), their chart c.png"
    )
    without_resolvers = convert(storage)
    assert without_resolvers.markdown == "News, Undated, plan.pdf, their chart c.png"


RELATIVE_LINKS = (
    '<p><a href="/wiki/spaces/OPS/pages/1">relative link</a>, <a href="/confluence/display/OPS/Runbook">dc</a>, '
    '<a href="display/OPS/Other">path</a>, <a href="mailto:ops@example.com">mail</a>, <a href="#top">up</a>, '
    '<a href="https://example.com/x">abs</a>, <a href="/wiki/x y">spaced</a>, <a href="/wiki/raw"></a>'
    '<img src="/download/attachments/1/a.png" alt="pic"/></p>'
)


@pytest.mark.parametrize(
    ("web_base", "root", "base"),
    [
        ("https://acme.atlassian.net/wiki", "https://acme.atlassian.net", "https://acme.atlassian.net/wiki"),
        ("https://host:8443/confluence/", "https://host:8443", "https://host:8443/confluence"),
        ("https://host", "https://host", "https://host"),
    ],
)
def test_relative_html_links_are_made_absolute_against_the_site(web_base: str, root: str, base: str) -> None:
    """A root-relative href already holds Cloud's `/wiki` or the Data Center context path: joined to the origin, not
    to the base (never `/confluence/confluence`). A path-relative one is relative to the base."""
    body = convert(RELATIVE_LINKS, web_base=web_base)
    assert body.markdown == (
        f"[relative link]({root}/wiki/spaces/OPS/pages/1), [dc]({root}/confluence/display/OPS/Runbook), "
        f"[path]({base}/display/OPS/Other), [mail](mailto:ops@example.com), [up](#top), "
        f"[abs](https://example.com/x), [spaced](<{root}/wiki/x y>), [{root}/wiki/raw]({root}/wiki/raw) "
        f"![pic]({root}/download/attachments/1/a.png)"
    )
    # the search text keeps what the page shows (a bare link shows its href as written)
    assert body.text == "relative link, dc, path, mail, up, abs, spaced, /wiki/raw pic"


def test_relative_confluence_url_links_and_images_are_made_absolute_too() -> None:
    """`ri:url` targets of `ac:link` and `ac:image` lead where a browser on the site takes them, as `<a href>` does;
    an image without a source links nowhere (never to the site's front page)."""
    body = convert('<p><ac:link><ri:url ri:value="/confluence/display/ENG/Home"/><ac:plain-text-link-body>'
                   '<![CDATA[home]]></ac:plain-text-link-body></ac:link> '
                   '<ac:image ac:alt="pic"><ri:url ri:value="/confluence/download/attachments/1/x.png"/></ac:image> '
                   '<img alt="none"/></p>', web_base="https://host/confluence")
    assert body.markdown == ("[home](https://host/confluence/display/ENG/Home) "
                             "![pic](https://host/confluence/download/attachments/1/x.png) none")
    blank_or_script = convert('<p><ac:link><ri:url ri:value=" "/></ac:link> <ac:image ac:alt="a"><ri:url ri:value=" "/>'
                              '</ac:image> <ac:link><ri:url ri:value="javascript:alert(1)"/></ac:link> '
                              '<ac:image ac:alt="b"><ri:url ri:value="javascript:alert(1)"/></ac:image></p>',
                              web_base="https://host/confluence")
    assert "https://host" not in blank_or_script.markdown and "(javascript" not in blank_or_script.markdown
    assert "(<javascript" not in blank_or_script.markdown


def test_relative_html_links_stay_as_written_without_a_site() -> None:
    assert convert(RELATIVE_LINKS).markdown.startswith("[relative link](/wiki/spaces/OPS/pages/1), ")


def test_page_links_without_a_url_resolver_are_the_page_title() -> None:
    body = convert('<p>See <ac:link><ri:page ri:content-title="Release [Plan]"/></ac:link></p>')
    assert body.text == "See Release [Plan]"
    assert body.markdown == "See Release \\[Plan\\]"


def test_resolver_returning_none_leaves_the_title_unlinked() -> None:
    body = convert('<p><ac:link><ri:page ri:content-title="Gone"/></ac:link></p>', page_url=lambda t, s: None)
    assert body.markdown == "Gone"


def test_mentions_use_the_resolver_and_fall_back_to_the_identifier() -> None:
    storage = (
        '<p>Ping <ac:link><ri:user ri:account-id="557058:f00d"/></ac:link>, '
        '<ac:link><ri:user ri:account-id="557058:f00d"/></ac:link>, '
        '<ac:link><ri:user ri:account-id="5b10ac8d82e05b22cc7d4ef5"/></ac:link>, '
        '<ac:link><ri:user ri:userkey="8a7f808a5a2c1b7e015a2c1c9b4e0001" ri:username="jsmith"/></ac:link>.</p>'
    )
    calls: list[str] = []

    def resolver(key: str) -> str | None:
        calls.append(key)
        return {"557058:f00d": "Ada Lovelace"}.get(key)

    assert convert(storage).text == (
        "Ping @557058:f00d, @557058:f00d, @5b10ac8d82e05b22cc7d4ef5, @jsmith."
    )
    body = convert(storage, user_resolver=resolver)
    assert body.text == "Ping @Ada Lovelace, @Ada Lovelace, @5b10ac8d82e05b22cc7d4ef5, @jsmith."
    assert body.markdown == body.text
    assert calls == ["557058:f00d", "5b10ac8d82e05b22cc7d4ef5", "8a7f808a5a2c1b7e015a2c1c9b4e0001"]


def test_images_render_alt_text_or_caption_and_file_name() -> None:
    storage = (
        '<p><ac:image ac:alt="Architecture overview" ac:height="250">'
        '<ri:attachment ri:filename="arch diagram.png" ri:version-at-save="1"/></ac:image> and '
        '<ac:image><ri:attachment ri:filename="screenshot-1.png"/></ac:image> and '
        '<ac:image><ri:url ri:value="https://cdn.example.com/logo.svg"/></ac:image>'
        '<img src="https://x.example.com/a.png" alt="html img"/></p>'
        '<ac:image ac:align="center"><ri:attachment ri:filename="flow.png"/>'
        "<ac:caption><p>Figure 1: data flow</p></ac:caption></ac:image>"
    )
    body = convert(storage, **LINKS)
    assert body.text == (
        "Architecture overview arch diagram.png and screenshot-1.png and html img\nFigure 1: data flow flow.png"
    )
    files = "https://wiki.example.com/download/attachments/42"
    assert body.markdown == (
        f"![Architecture overview]({files}/arch%20diagram.png) and ![screenshot-1.png]({files}/screenshot-1.png) and "
        "![](https://cdn.example.com/logo.svg)![html img](https://x.example.com/a.png)\n\n"
        f"![Figure 1: data flow]({files}/flow.png)"
    )
    # without a download URL an image is its name: never a relative link that leads nowhere
    assert convert(storage).markdown.startswith(
        "Architecture overview arch diagram.png and screenshot-1.png and ![](https"
    )


def test_an_image_with_a_caption_keeps_its_file_name() -> None:
    """The caption is what the reader sees and the file name what people search for; neither replaces the other."""
    image = (
        '<ac:image><ri:attachment ri:filename="topology.png"/>'
        "<ac:caption><p>Cluster topology overview</p></ac:caption></ac:image>"
    )
    body = convert(image, **LINKS)
    assert body.text == "Cluster topology overview topology.png"
    assert body.markdown == (
        "![Cluster topology overview](https://wiki.example.com/download/attachments/42/topology.png)"
    )
    assert convert(image).markdown == "Cluster topology overview topology.png"
    # alt text and caption both shown, the file name once; an alt text that is the file name is not repeated
    both = convert(
        '<p><ac:image ac:alt="Topology"><ri:attachment ri:filename="topology.png"/>'
        "<ac:caption><p>Figure 2</p></ac:caption></ac:image> then "
        '<ac:image ac:alt="topology.png"><ri:attachment ri:filename="topology.png"/></ac:image></p>',
        **LINKS,
    )
    assert both.text == "Topology Figure 2 topology.png then topology.png"
    assert both.markdown == (
        "![Topology](https://wiki.example.com/download/attachments/42/topology.png) Figure 2 then "
        "![topology.png](https://wiki.example.com/download/attachments/42/topology.png)"
    )


def test_emoticons_become_emoji_or_nothing() -> None:
    storage = (
        '<p>a <ac:emoticon ac:name="tick"/> '
        'b <ac:emoticon ac:name="smile" ac:emoji-shortname=":slight_smile:" ac:emoji-id="1f642" '
        'ac:emoji-fallback="🙂"/> '
        'c <ac:emoticon ac:name="blue-star" ac:emoji-shortname=":shield:" ac:emoji-id="1f6e1" '
        'ac:emoji-fallback="&#128737;"/> '
        'd <ac:emoticon ac:name="blue-star" ac:emoji-shortname=":partyparrot:" '
        'ac:emoji-id="a1b2c3d4-0000-1111-2222-333344445555" ac:emoji-fallback=":partyparrot:"/> '
        'e <ac:emoticon ac:name="tick" ac:emoji-shortname=":check_mark:" ac:emoji-id="atlassian-check_mark" '
        'ac:emoji-fallback=":check_mark:"/> '
        'f <ac:emoticon ac:name="no-such-emoticon"/>end</p>'
    )
    assert convert(storage).text == "a ✅ b 🙂 c 🛡 d e ✅ f end"


def test_task_lists_render_checkboxes_including_nested_tasks() -> None:
    storage = (
        '<ac:task-list ac:task-list-id="7">'
        "<ac:task><ac:task-id>1</ac:task-id><ac:task-uuid>5f2a</ac:task-uuid>"
        "<ac:task-status>complete</ac:task-status><ac:task-body><span>Write <strong>spec</strong></span>"
        "</ac:task-body></ac:task>"
        "<ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        '<ac:task-body>Review with <ac:link><ri:user ri:account-id="abc"/></ac:link> by '
        '<time datetime="2024-05-01"/></ac:task-body></ac:task>'
        "<ac:task-list><ac:task><ac:task-id>3</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        "<ac:task-body>sub task</ac:task-body></ac:task></ac:task-list>"
        "</ac:task-list>"
    )
    body = convert(storage)
    assert body.text == "[x] Write spec\n[ ] Review with @abc by 2024-05-01\n[ ] sub task"
    assert body.markdown == "- [x] Write **spec**\n- [ ] Review with @abc by 2024-05-01\n  - [ ] sub task"
    assert "5f2a" not in body.markdown and "complete" not in body.text


# --------------------------------------------------------------------------- lists, tables, structure


def test_nested_ordered_and_unordered_lists() -> None:
    storage = (
        "<h2>Steps</h2>"
        '<ol start="3"><li><p>Prepare</p><ul><li>check <code>config.yml</code></li><li>two</li></ul></li>'
        "<li>Deploy<ol><li>canary</li></ol></li></ol>"
        "<ul><li><p>first paragraph</p><p>second paragraph</p></li><li></li></ul>"
    )
    body = convert(storage)
    assert body.text == (
        "Steps\nPrepare\ncheck config.yml\ntwo\nDeploy\ncanary\nfirst paragraph\nsecond paragraph"
    )
    assert body.markdown == (
        "## Steps\n\n"
        "3. Prepare\n   - check `config.yml`\n   - two\n4. Deploy\n   1. canary\n\n"
        "- first paragraph\n\n  second paragraph\n-"  # a blank line keeps the paragraphs apart in Markdown
    )


def test_code_block_inside_a_list_item_is_indented_under_it() -> None:
    storage = (
        "<ul><li><p>Run:</p>"
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a\n  b]]></ac:plain-text-body>'
        "</ac:structured-macro></li></ul>"
    )
    assert convert(storage).markdown == "- Run:\n\n  ```\n  a\n    b\n  ```"


def test_table_cells_and_rows() -> None:
    storage = (
        '<table data-layout="default"><colgroup><col style="width: 120.0px;"/><col/><col/></colgroup><tbody>'
        "<tr><th><p>Key</p></th><th><p>Value</p></th><th>Note</th></tr>"
        '<tr><td rowspan="2">a|b</td><td colspan="2"><p>wide</p></td></tr>'
        "<tr><td><p>x</p><p>y</p></td><td>"
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[ls | grep x]]></ac:plain-text-body>'
        "</ac:structured-macro></td></tr>"
        "<tr><td></td><td>  </td><td><strong>z</strong> <ac:emoticon ac:name=\"tick\"/></td></tr>"
        "</tbody></table>"
    )
    body = convert(storage)
    assert body.text == "Key | Value | Note\na|b | wide\nx y | ls | grep x\nz ✅"
    assert body.markdown == (
        "| Key | Value | Note |\n"
        "|---|---|---|\n"
        "| a\\|b | wide |  |\n"
        "|  | x<br>y | `ls \\| grep x` |\n"
        "|  |  | **z** ✅ |"
    )


def test_table_without_header_cells_still_makes_a_valid_pipe_table() -> None:
    body = convert("<table><tbody><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></tbody></table>")
    assert body.markdown == "| 1 | 2 |\n|---|---|\n| 3 |  |"
    assert body.text == "1 | 2\n3"


def test_a_table_inside_a_table_cell_becomes_lines_of_that_cell() -> None:
    """A Markdown table cannot hold a table (Page Properties layouts nest them): the inner rows become lines."""
    body = convert(
        "<table><tbody><tr><th>Outer</th><th>Detail</th></tr><tr><td>svc</td><td><table><tbody>"
        "<tr><th>inner head</th><th>unit</th></tr><tr><td>inner value kiwi</td><td>ms</td></tr>"
        "</tbody></table></td></tr></tbody></table>"
    )
    assert body.markdown == (
        "| Outer | Detail |\n|---|---|\n| svc | inner head; unit<br>inner value kiwi; ms |"
    )
    assert "inner value kiwi" in body.text


def test_file_macros_link_to_the_download() -> None:
    storage = ('<ac:structured-macro ac:name="view-file"><ac:parameter ac:name="name">'
               '<ri:attachment ri:filename="Q3 plan.pdf"/></ac:parameter></ac:structured-macro>')
    assert convert(storage, **LINKS).markdown == (
        "[Q3 plan.pdf](https://wiki.example.com/download/attachments/42/Q3%20plan.pdf)")
    assert convert(storage).markdown == "Q3 plan.pdf"


def test_layouts_blockquotes_and_rules() -> None:
    storage = (
        '<ac:layout><ac:layout-section ac:type="two_equal" ac:breakout-mode="default">'
        "<ac:layout-cell><p>Left</p></ac:layout-cell><ac:layout-cell><p>Right</p></ac:layout-cell>"
        "</ac:layout-section></ac:layout><blockquote><p>Quoted <em>text</em></p><p>more</p></blockquote><hr/>"
        "<h6>Small heading</h6>"
    )
    body = convert(storage)
    assert body.text == "Left\nRight\nQuoted text\nmore\nSmall heading"
    assert body.markdown == "Left\n\nRight\n\n> Quoted *text*\n>\n> more\n\n---\n\n###### Small heading"


def test_block_inside_inline_element_keeps_the_words_on_their_own_lines() -> None:
    body = convert("<p><strong>lead<p>inner paragraph</p>trail</strong> after</p>")
    assert body.text == "lead\ninner paragraph\ntrail after"


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    ("storage", "expected_text"),
    [
        ("<p>one <strong>two</p><p>three</p>", "one two\nthree"),
        ("<p>a<br>b</p><p>c", "a\nb\nc"),
        ("<p>if a < b then</p><p>next</p>", "if a < b then\nnext"),
        ("<p>x</div> y</p><p>z</p>", "x y\nz"),
        ('<p><foo:bar x="1">undeclared prefix</foo:bar> kept</p>', "undeclared prefix kept"),
        (
            '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[print(1)\n<tag>',
            "print(1)\n<tag>",
        ),
        (
            '<p>x<br></p><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a && "&nbsp;" <b>]]>'
            "</ac:plain-text-body></ac:structured-macro>",
            'x\na && "&nbsp;" <b>',
        ),
        ("</p></p>text", "text"),
        ("<<<>>>", "<<<>>>"),
        ("just words", "just words"),
        ("<?xml version='1.0' encoding='UTF-8'?><p>declared</p>", "declared"),
        ("<html><body><p>whole document</p></body></html>", "whole document"),
        ("bad\x00control\x01<p>chars\x1eend</p>", "badcontrol\ncharsend"),
    ],
)
def test_malformed_bodies_still_give_their_text(storage: str, expected_text: str) -> None:
    body = convert(storage)
    assert body.text == expected_text
    assert_clean(body)


def test_malformed_body_keeps_macro_semantics() -> None:
    storage = (
        '<p>AT&T<br></p><ac:structured-macro ac:name="info"><ac:parameter ac:name="icon">true</ac:parameter>'
        "<ac:rich-text-body><p>Panel body</ac:rich-text-body></ac:structured-macro>"
        '<ac:link><ri:page ri:content-title="Linked page"/></ac:link>'
    )
    body = convert(storage)
    assert body.text == "AT&T\nPanel body\nLinked page"
    assert "true" not in body.text


@pytest.mark.parametrize("empty", ["", "   \n\t", "<p></p>", "<p> &nbsp; </p><div/>"])
def test_empty_bodies(empty: str) -> None:
    assert convert(empty) == ConvertedBody("", "")


@pytest.mark.parametrize("tag", ["div", "span", "blockquote"])
def test_absurdly_deep_nesting_does_not_raise_and_keeps_the_text(tag: str) -> None:
    depth = 5000
    storage = f"<p>start</p>{f'<{tag}>' * depth}deep words{f'</{tag}>' * depth}<p>end</p>"
    text = convert(storage).text
    assert text.split() == ["start", "deep", "words", "end"]


def test_a_failing_callback_does_not_lose_the_body(caplog: pytest.LogCaptureFixture) -> None:
    def broken(key: str) -> str | None:
        raise RuntimeError("directory down")

    storage = (
        '<p>Hello <ac:link><ri:user ri:account-id="x"/></ac:link> world</p>'
        '<ac:structured-macro ac:name="info"><ac:parameter ac:name="icon">true</ac:parameter>'
        "<ac:rich-text-body><p>body</p></ac:rich-text-body></ac:structured-macro>"
    )
    with caplog.at_level(logging.WARNING, logger="confluence_source.storage_format"):
        body = convert(storage, user_resolver=broken)
    assert body.text.split() == ["Hello", "world", "body"]
    assert "true" not in body.text
    assert any("plain text" in record.getMessage() for record in caplog.records)


def test_xhtml_namespaced_body_renders_like_a_plain_one() -> None:
    storage = (
        '<p xmlns="http://www.w3.org/1999/xhtml">x<strong>y</strong></p>'
        '<table xmlns="http://www.w3.org/1999/xhtml"><tbody><tr><th>h</th></tr><tr><td>c</td></tr></tbody></table>'
    )
    body = convert(storage)
    assert body.text == "xy\nh\nc"
    assert body.markdown == "x**y**\n\n| h |\n|---|\n| c |"


def test_huge_body_is_converted_completely_in_linear_time() -> None:
    section = (
        "<h2>Section {i}</h2><p>Paragraph {i} with <strong>bold</strong> and "
        '<ac:link><ri:page ri:content-title="Page {i}"/></ac:link>.</p>'
        "<table><tbody><tr><th>k{i}</th><th>v</th></tr><tr><td>a{i}</td><td>b</td></tr></tbody></table>"
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[x = {i}]]></ac:plain-text-body>'
        "</ac:structured-macro><ul><li>item {i}</li></ul>"
    )
    storage = "".join(section.format(i=i) for i in range(6000))
    assert len(storage) > 2_000_000
    started = time.perf_counter()
    body = convert(storage)
    elapsed = time.perf_counter() - started
    assert body.text.count("\nParagraph ") == 6000
    assert body.text.endswith(
        "Section 5999\nParagraph 5999 with bold and Page 5999.\nk5999 | v\na5999 | b\nx = 5999\nitem 5999"
    )
    assert body.markdown.count("| k") == 6000
    # A quadratic step would take minutes here; linear work takes well under a second on one core.
    assert elapsed < 20, elapsed


def test_conversion_is_safe_from_several_threads() -> None:
    storages = [
        f'<p>doc {i} <ac:link><ri:page ri:content-title="T{i}"/></ac:link></p>'
        f"<p>broken {i} <b>unclosed</p>"
        for i in range(200)
    ]
    expected = [convert(storage).text for storage in storages]
    results: dict[int, list[str]] = {}

    def work(worker: int) -> None:
        results[worker] = [convert(storage).text for storage in storages]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())
    assert expected[7] == "doc 7 T7\nbroken 7 unclosed"


def test_storage_to_text_is_the_text_rendering() -> None:
    storage = (
        '<p>a <ac:structured-macro ac:name="status"><ac:parameter ac:name="title">DONE</ac:parameter>'
        "</ac:structured-macro></p>"
    )
    assert storage_to_text(storage) == convert(storage).text == "a DONE"


def test_every_rendering_of_a_mixed_body_is_clean() -> None:
    """All the shapes above in one body: nothing of the markup may reach the search text."""
    storage = "".join(
        [
            "<h1>Title &amp; more</h1><p>Intro <em>text</em>&nbsp;&rarr; next</p>",
            '<ac:structured-macro ac:name="note"><ac:parameter ac:name="title">Heads up</ac:parameter>',
            "<ac:rich-text-body><table><tr><td><p>a</p></td><td>",
            '<ac:structured-macro ac:name="status"><ac:parameter ac:name="title">WIP</ac:parameter>',
            "</ac:structured-macro></td></tr></table></ac:rich-text-body></ac:structured-macro>",
            '<ac:task-list><ac:task><ac:task-id>9</ac:task-id><ac:task-status>complete</ac:task-status>',
            "<ac:task-body><p>done</p><p>really</p></ac:task-body></ac:task></ac:task-list>",
            '<ul><li><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[x  \n\n\n\ny   ]]>',
            "</ac:plain-text-body></ac:structured-macro></li></ul>",
            "<p>lines<br/> <br/>  <br/>end </p>",
        ]
    )
    body = convert(storage)
    assert_clean(body)
    assert body.text == (
        "Title & more\nIntro text → next\nHeads up\na | WIP\n[x] done\nreally\nx\n\ny\nlines\n\nend"
    )


def test_parse_storage_reads_well_formed_bodies_with_the_strict_parser() -> None:
    # The lenient HTML parser would lower-case names and drop CDATA; the strict parse keeps both.
    root = parse_storage(
        '<ac:structured-macro ac:name="Code"><ac:plain-text-body><![CDATA[<X>]]></ac:plain-text-body>'
        "</ac:structured-macro>"
    )
    macro = root[0]
    assert macro.tag == "{http://atlassian.com/content}structured-macro"
    assert macro.get("{http://atlassian.com/content}name") == "Code"
    assert macro[0].text == "<X>"

"""The journalist-HTML cleaner, as a table of input and exact expected output."""

import re

import pytest

from liveblog.content.bodies import prepare_body
from liveblog.content.sanitize import clean_html, paragraphs, plain_text
from liveblog.errors import Invalid

REL = 'rel="noopener noreferrer nofollow"'

TABLE = [
    # Scripts, styles and other code leave nothing behind, not even their text.
    ("<script>alert(1)</script>", ""),
    ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>"),
    ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>ok", "ok"),
    ("<style>p { color: red }</style><p>a</p>", "<p>a</p>"),
    ("<template><p>x</p></template>b", "b"),
    ("<noscript><p>x</p></noscript>c", "c"),
    ("<textarea><img src=x onerror=alert(1)></textarea>d", "d"),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""),
    # Event handlers.
    ('<img src="/media/a.png" onerror="alert(1)">', '<img src="/media/a.png" loading="lazy">'),
    ('<p onclick="alert(1)">x</p>', "<p>x</p>"),
    ("<svg onload=alert(1)><circle r=1></circle>drawn</svg>after", "after"),
    ("<body onload=alert(1)>x", "x"),
    # Dangerous URLs, plain and disguised.
    ('<a href="javascript:alert(1)">x</a>', "x"),
    ('<a href="jav&#x09;ascript:alert(1)">x</a>', "x"),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', "x"),
    ('<a href="&#106;avascript:alert(1)">x</a>', "x"),
    ('<a href=" javascript:alert(1)">x</a>', "x"),
    ('<a href="java\nscript:alert(1)">x</a>', "x"),
    ('<a href="vbscript:msgbox(1)">x</a>', "x"),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "x"),
    ('<img src="data:image/png;base64,iVBORw0KGgo=">', ""),
    ('<img src="javascript:alert(1)" alt="a">', ""),
    ('<img src="//evil.example/x.png">', ""),
    ('<img src="/\\evil.example/x.png">', ""),
    ('<blockquote cite="javascript:alert(1)">q</blockquote>', "<blockquote>q</blockquote>"),
    ('<blockquote cite="/local">q</blockquote>', "<blockquote>q</blockquote>"),
    # Frames, objects and forms.
    ('<iframe src="https://evil.example/"></iframe>after', "after"),
    ('<object data="x.swf"><p>fallback</p></object>f', "f"),
    ('<embed src="x.swf">e', "e"),
    ('<form action="/x"><input name="q"><button>Go</button></form>', "Go"),
    # Styles, classes and ids from journalists are dropped.
    ('<p style="color:red">s</p>', "<p>s</p>"),
    ('<p class="big" id="top">s</p>', "<p>s</p>"),
    ('<h2 class="x">T</h2><div>d</div><span>s</span>', "<h2>T</h2>\nds"),
    # Every link gets our rel; rel and target from the desk cannot survive.
    (
        '<a href="https://e.example/" rel="opener">x</a>',
        f'<a href="https://e.example/" {REL}>x</a>',
    ),
    (
        '<a href="https://e.example/" target="_blank">x</a>',
        f'<a href="https://e.example/" {REL}>x</a>',
    ),
    (
        '<a rel="opener" href="https://e.example/" rel="x">x</a>',
        f'<a href="https://e.example/" {REL}>x</a>',
    ),
    (
        '<a href="mailto:desk@news.example">mail</a>',
        f'<a href="mailto:desk@news.example" {REL}>mail</a>',
    ),
    ('<a href="/stories/2">two</a>', f'<a href="/stories/2" {REL}>two</a>'),
    (
        '<a href="https://e.example/" title="T">x</a>',
        f'<a href="https://e.example/" title="T" {REL}>x</a>',
    ),
    ("<a>no href</a>", "no href"),
    # Nested and broken markup.
    ("<p><strong><em>deep</em></strong></p>", "<p><strong><em>deep</em></strong></p>"),
    ("<p><b>open", "<p><b>open</b></p>"),
    ("<ul><li>a<li>b</ul>", "<ul><li>a</li><li>b</li></ul>"),
    ("<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)"),
    # Comments go.
    ("<p>a<!-- secret -->b</p>", "<p>ab</p>"),
    ("<p>a<!--[if IE]><script>alert(1)</script><![endif]-->b</p>", "<p>ab</p>"),
    # Allowed markup comes through intact.
    (
        "<h2>Head</h2><h3>Sub</h3><h4>Minor</h4><p>a<br>b <u>u</u> <s>s</s> <i>i</i> <b>b</b></p>",
        "<h2>Head</h2><h3>Sub</h3><h4>Minor</h4><p>a<br>b <u>u</u> <s>s</s> <i>i</i> <b>b</b></p>",
    ),
    (
        "<ol><li>one</li></ol><hr><pre><code>x = 1</code></pre>",
        "<ol><li>one</li></ol><hr><pre><code>x = 1</code></pre>",
    ),
    (
        '<blockquote cite="https://e.example/s"><p>We will.</p><cite>Mayor</cite></blockquote>',
        '<blockquote cite="https://e.example/s"><p>We will.</p><cite>Mayor</cite></blockquote>',
    ),
    (
        '<figure><img src="https://cdn.example/a.jpg" alt="Crowd" width="640" height="480">'
        "<figcaption>The crowd</figcaption></figure>",
        '<figure><img src="https://cdn.example/a.jpg" alt="Crowd" width="640" height="480" '
        'loading="lazy"><figcaption>The crowd</figcaption></figure>',
    ),
    (
        '<img src="/media/a.png" width="100%" loading="eager">',
        '<img src="/media/a.png" loading="lazy">',
    ),
    ("<p>Fish &amp; chips &lt;3</p>", "<p>Fish &amp; chips &lt;3</p>"),
    ("", ""),
]

PARAGRAPHS = [
    # Text with no tags at all is plain text: escaped, blank lines make paragraphs.
    ("First para\n\nhttps://youtu.be/abc", "<p>First para</p>\n<p>https://youtu.be/abc</p>"),
    ("one\ntwo\r\n\r\n\r\nthree", "<p>one<br>two</p>\n<p>three</p>"),
    ("Fish & chips <3", "<p>Fish &amp; chips &lt;3</p>"),
    ("a < b > c", "<p>a &lt; b &gt; c</p>"),
    ("   \n\n  ", ""),
    # Inline markup without blocks, as API clients send it, keeps its markup and gets paragraphs.
    ("Hello <b>world</b>\n\nsecond", "<p>Hello <b>world</b></p>\n<p>second</p>"),
    ("<script>alert(1)</script>", ""),
    # Block markup is left as written.
    ("<p>one</p>\n\n<p>two</p>", "<p>one</p>\n\n<p>two</p>"),
]


@pytest.mark.parametrize(("raw", "expected"), PARAGRAPHS)
def test_paragraphs_then_clean(raw, expected):
    assert clean_html(paragraphs(raw)) == expected


@pytest.mark.parametrize(("raw", "expected"), TABLE)
def test_clean_html(raw, expected):
    assert clean_html(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<p><script>alert(1)</script></p>",
        "<style>alert(1)</style>",
        "<svg><script>alert(1)</script></svg>",
        '<iframe srcdoc="x">alert(1)</iframe>',
    ],
)
def test_script_text_does_not_leak(raw):
    assert "alert(1)" not in clean_html(raw)


PLAIN = [
    ("<b>Breaking</b>: storm", None, "Breaking: storm"),
    ("Tom &amp; Jerry", None, "Tom & Jerry"),
    ("Tom &amp;amp; Jerry", None, "Tom &amp; Jerry"),
    ("<script>alert(1)</script>Headline", None, "Headline"),
    ("<style>p{}</style>  Lots \n of\t space  ", None, "Lots of space"),
    ("<p>One</p><p>Two</p>", None, "One Two"),
    ("a < b", None, "a < b"),
    ("<img src=x onerror=alert(1)>Label", None, "Label"),
    ("abcdefghijklmnop", 10, "abcdefghi…"),
    ("short", 10, "short"),
    ("", None, ""),
]


@pytest.mark.parametrize(("raw", "max_length", "expected"), PLAIN)
def test_plain_text(raw, max_length, expected):
    assert plain_text(raw, max_length) == expected


# Pasted code as a whole entry body: either refused (422) naming where it would load from, or
# cleaned with no frame, script or plug-in left, and only our own click-to-load frames.
YT = "https://www.youtube.com/embed/dQw4w9WgXcQ"
EVIL = "from evil.example"
PASTED_CODES = [
    ('<iframe src="https://evil.example/"></iframe>', EVIL),
    ("<IFRAME SRC='//EVIL.example/x'></IFRAME>", EVIL),
    ('<iframe src="https:\\\\evil.example\\x"></iframe>', EVIL),
    ('<iframe src="/\\evil.example/x"></iframe>', EVIL),
    ('<iframe src=" &#x09;https://evil&#46;example/x&#10;"></iframe>', EVIL),
    ('<iframe\nsrc\n=\n"https://evil.example/x"\n></iframe>', EVIL),
    ('<iframe/src="https://evil.example/x"></iframe>', EVIL),
    ('<iframe src="https://www.youtube.com.evil.example/embed/dQw4w9WgXcQ"></iframe>',
     "from www.youtube.com.evil.example"),
    ('<iframe src="https://www.youtube.com@evil.example/embed/dQw4w9WgXcQ"></iframe>', EVIL),
    ('<iframe src="https://evil.example/?u=https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>',
     EVIL),
    ('<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ%22onload%3D"></iframe>',
     "from www.youtube.com"),
    ('<iframe src="https://datawrapper.dwcdn.net/a1B2c/1/&quot;onload=&quot;alert(1)"></iframe>',
     "from datawrapper.dwcdn.net"),
    ('<iframe src="https://w.soundcloud.com/player/?url=https://evil.example/x"></iframe>',
     "from w.soundcloud.com"),
    (f'<iframe src="{YT}" srcdoc="<script>alert(1)</script>"></iframe>', "with inline content"),
    ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', "with inline content"),
    ('<iframe src="javascript:alert(1)"></iframe>', "with a javascript: address"),
    ('<iframe src="jav&#x09;ascript:alert(1)"></iframe>', "with a javascript: address"),
    ('<iframe src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></iframe>',
     "with a data: address"),
    ("<iframe></iframe>", "with no address"),
    ('<iframe src="embed/x"></iframe>', "with a relative address"),
    ('<embed src="https://evil.example/x.swf">', EVIL),
    ('<object data="https://evil.example/x"></object>', EVIL),
    ('<applet code="https://evil.example/A.class"></applet>', EVIL),
    ('<script src="https://evil.example/x.js"></script>', EVIL),
    ('<script src="https://platform.twitter.com.evil.example/widgets.js"></script>',
     "from platform.twitter.com.evil.example"),
    ('<script src="https://evil.example/embed.js"></script>', EVIL),  # Mastodon's, without a post
    ('<svg><script href="https://evil.example/x.js"></script></svg>', EVIL),
    ('<svg><script xlink:href="https://evil.example/x.js"></script></svg>', EVIL),
    ('<math><mtext><iframe src="https://evil.example/"></iframe></mtext></math>', EVIL),
    ('<noscript><iframe src="https://evil.example/"></iframe></noscript>', EVIL),
    ('<p><a href="https://youtu.be/dQw4w9WgXcQ"><iframe src=//evil.example></iframe></a></p>',
     EVIL),
    ('<blockquote class="twitter-tweet"><p>x</p><a href="https://x.com/a/status/20">d</a>'
     '</blockquote><script src="https://evil.example/widgets.js"></script>', EVIL),
    # Made safe: our own markup, or nothing.
    ('<iframe src="HTTPS://WWW.YOUTUBE.COM/embed/dQw4w9WgXcQ" onload="alert(1)">'
     "<script>alert(1)</script></iframe>", None),
    (f'<iframe src="{YT}"></iframe><script>alert(1)</script>', None),
    ('<iframe class="mastodon-embed" src="https://evil.example/@a/123456789012345678/embed">'
     '</iframe><script src="https://evil.example/embed.js"></script>', None),  # a static card
    ('<blockquote class="instagram-media" data-instgrm-permalink="https://www.instagram.com/p/'
     'ABCDE1/"><iframe src="https://evil.example/"></iframe><p>x</p></blockquote>', None),
    ('<div class="flourish-embed" data-src="visualisation/1&quot;&gt;&lt;script&gt;alert(1)">'
     '</div><p>x</p>', None),
    ('<iframe src="https://www.google.com/maps/embed?pb=!1m2&amp;x=%22%3E%3Cscript%3E">'
     "</iframe>", None),
    ("<textarea><iframe src=https://evil.example></iframe></textarea><p>x</p>", None),
    ('<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.'
     'example"><link rel="import" href="https://evil.example/x"><p>x</p>', None),
    ("<scr<script>ipt src=https://evil.example/x.js></script><p>x</p>", None),
]
OUR_FRAMES = ("https://www.youtube-nocookie.com/embed/", "https://player.vimeo.com/video/",
              "https://datawrapper.dwcdn.net/", "https://flo.uri.sh/",
              "https://www.google.com/maps/embed?pb=", "https://w.soundcloud.com/player/?url=")
LOADING_TAG = re.compile(r"<(iframe|frame|script|object|embed|applet|base|meta|link|portal)\b")


@pytest.mark.parametrize(("raw", "refused"), PASTED_CODES)
def test_pasted_code_cannot_place_a_frame_or_script_from_outside_the_allowlist(raw, refused):
    if refused:
        with pytest.raises(Invalid) as refusal:
            prepare_body(raw)
        assert f"An embed code {refused}" in refusal.value.fields["body"]
        assert "paste a link to the post instead" in refusal.value.fields["body"]
        return
    body = prepare_body(raw)
    lowered = body.lower()
    assert not LOADING_TAG.search(lowered)
    assert "javascript:" not in lowered and "srcdoc" not in lowered
    assert not re.search(r"\son[a-z]+=", lowered)
    for src in re.findall(r'data-embed-src="([^"]*)"', body):
        assert src.startswith(OUR_FRAMES)
    for address in re.findall(r'(?:href|src|cite)="([^"]*)"', body):
        assert address.startswith(("https://", "http://", "/")) and not address.startswith("//")

"""Lone links become embeds we write ourselves; look-alike hosts and mixed text do not."""

import re
from datetime import UTC, datetime

import pytest

from liveblog.content.bodies import prepare_body
from liveblog.content.embeds import Embed, embed_for, expand_embeds, tweet_time
from liveblog.content.sanitize import clean_html

REL = 'rel="noopener noreferrer nofollow"'
PLAY = (
    '<button type="button" class="embed-activate">Play video'
    '<span class="embed-note">Loads the {name} player (privacy mode)</span></button>'
)
TWEET_ID = "1861000000000000000"  # 25 Nov 2024, 10:52:30 UTC


def youtube(video_id, start=""):
    """Expected markup for one YouTube video."""
    src = f"https://www.youtube-nocookie.com/embed/{video_id}" + (
        f"?start={start}" if start else ""
    )
    watch = f"https://www.youtube.com/watch?v={video_id}" + (f"&amp;t={start}s" if start else "")
    return (
        '<figure class="embed embed-video" data-provider="youtube">'
        f'<div class="embed-frame" data-embed-src="{src}" data-embed-title="YouTube video">'
        f"{PLAY.format(name='YouTube')}</div>"
        f'<figcaption><a href="{watch}" {REL}>Watch on YouTube</a></figcaption></figure>'
    )


def vimeo(video_id):
    """Expected markup for one Vimeo video."""
    return (
        '<figure class="embed embed-video" data-provider="vimeo">'
        f'<div class="embed-frame" data-embed-src="https://player.vimeo.com/video/{video_id}'
        f'?dnt=1" data-embed-title="Vimeo video">{PLAY.format(name="Vimeo")}</div><figcaption>'
        f'<a href="https://vimeo.com/{video_id}" {REL}>Watch on Vimeo</a></figcaption></figure>'
    )


def tweet(handle, tweet_id, text="", name="", date=""):
    """Expected markup for one post on X."""
    url = f"https://x.com/{handle}/status/{tweet_id}"
    meta = [f'<span class="embed-tweet-name">{name}</span>'] if name else []
    meta.append(f'<span class="embed-tweet-handle">@{handle}</span>')
    if date:
        meta.append(f'<time class="embed-tweet-date" datetime="{date[0]}">{date[1]}</time>')
    meta.append(f'<a class="embed-tweet-link" href="{url}" {REL}>View post on X</a>')
    body = f'<div class="embed-tweet-text">{text}</div>' if text else ""
    return (
        f'<blockquote class="embed embed-tweet" cite="{url}" data-provider="twitter">'
        f'{body}<footer class="embed-tweet-meta">{" ".join(meta)}</footer></blockquote>'
    )


NOV_2024 = ("2024-11-25T10:52:30Z", "25 Nov 2024")

TWEETS = [
    (f"https://twitter.com/jack/status/{TWEET_ID}", tweet("jack", TWEET_ID, date=NOV_2024)),
    (f"https://www.twitter.com/jack/status/{TWEET_ID}", tweet("jack", TWEET_ID, date=NOV_2024)),
    (f"https://mobile.twitter.com/jack/status/{TWEET_ID}", tweet("jack", TWEET_ID, date=NOV_2024)),
    (f"https://x.com/jack/status/{TWEET_ID}?s=20", tweet("jack", TWEET_ID, date=NOV_2024)),
    (f"https://www.x.com/jack/status/{TWEET_ID}/photo/1", tweet("jack", TWEET_ID, date=NOV_2024)),
    (f"http://X.com/Jack_2/status/{TWEET_ID}", tweet("Jack_2", TWEET_ID, date=NOV_2024)),
    # Before Snowflake IDs there is no date to read.
    ("https://twitter.com/jack/status/20", tweet("jack", "20")),
]

YOUTUBE = [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", youtube("dQw4w9WgXcQ")),
    ("https://youtube.com/watch?v=dQw4w9WgXcQ&feature=share", youtube("dQw4w9WgXcQ")),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", youtube("dQw4w9WgXcQ")),
    ("https://youtu.be/dQw4w9WgXcQ?si=abc", youtube("dQw4w9WgXcQ")),
    ("https://www.youtube.com/shorts/a_b-c1d2e3F", youtube("a_b-c1d2e3F")),
    ("https://www.youtube.com/embed/dQw4w9WgXcQ", youtube("dQw4w9WgXcQ")),
    ("https://youtu.be/dQw4w9WgXcQ?t=42", youtube("dQw4w9WgXcQ", 42)),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1m30s", youtube("dQw4w9WgXcQ", 90)),
    ("https://www.youtube.com/embed/dQw4w9WgXcQ?start=7", youtube("dQw4w9WgXcQ", 7)),
]

VIMEO = [
    ("https://vimeo.com/76979871", vimeo("76979871")),
    ("https://www.vimeo.com/76979871/", vimeo("76979871")),
    ("https://player.vimeo.com/video/76979871", vimeo("76979871")),
]


def image(src):
    """Expected markup for one picture."""
    return f'<figure class="embed embed-image"><img src="{src}" alt="" loading="lazy"></figure>'


IMAGES = [
    ("https://cdn.example/photos/crowd.JPG", image("https://cdn.example/photos/crowd.JPG")),
    ("https://cdn.example/a.webp?w=800&h=600", image("https://cdn.example/a.webp?w=800&amp;h=600")),
] + [
    (f"http://cdn.example/x{ext}", image(f"http://cdn.example/x{ext}"))
    for ext in (".jpg", ".jpeg", ".png", ".gif", ".avif")
]


@pytest.mark.parametrize(("url", "expected"), TWEETS + YOUTUBE + VIMEO + IMAGES)
def test_lone_url_becomes_embed(url, expected):
    assert prepare_body(url) == expected
    assert prepare_body(f"<p>{url}</p>") == expected
    assert prepare_body(f'<p> <a href="{url}">{url}</a> </p>') == expected


def test_link_text_or_href_can_carry_the_url():
    url = "https://youtu.be/dQw4w9WgXcQ"
    assert prepare_body(f'<p><a href="{url}">Watch the speech</a></p>') == youtube("dQw4w9WgXcQ")
    assert prepare_body(f'<p><a href="https://e.example/">{url}</a></p>') == youtube("dQw4w9WgXcQ")


def test_embeds_sit_between_paragraphs():
    body = prepare_body("Before\n\nhttps://vimeo.com/76979871\n\nAfter")
    assert body == f"<p>Before</p>\n{vimeo('76979871')}\n<p>After</p>"


LOOK_ALIKES = [
    "https://eviltwitter.com/jack/status/20",
    "https://twitter.com.evil.com/jack/status/20",
    "https://x.com.evil.io/jack/status/20",
    "https://evil-x.com/jack/status/20",
    "https://api.twitter.com/jack/status/20",
    "https://user@twitter.com/jack/status/20",
    "https://twitter.com:pass@evil.com/jack/status/20",
    "https://evil.com\\@twitter.com/jack/status/20",
    "https://twitter.com/jack/likes/20",
    "https://twitter.com/jack/status/abc",
    "https://twitter.com/this_handle_is_far_too_long/status/20",
    "ftp://twitter.com/jack/status/20",
    "javascript://twitter.com/jack/status/20",
    "https://youtube.com.evil/watch?v=dQw4w9WgXcQ",
    "https://notyoutu.be/dQw4w9WgXcQ",
    "https://youtu.be.evil.com/dQw4w9WgXcQ",
    "https://www.youtube.com/watch?v=short",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ%22onload%3D",
    "https://www.youtube.com/watch?list=dQw4w9WgXcQ",
    "https://www.youtube.com/channel/dQw4w9WgXcQ",
    "https://youtu.be/dQw4w9WgXcQ/extra",
    "https://www.youtube.com/embed/videoseries?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
    "https://vimeo.com.evil/76979871",
    "https://vimeo.com/channels/staffpicks",
    "https://vimeo.com/video/76979871",
    "https://player.vimeo.com/76979871",
    "data:image/png;base64,iVBORw0KGgo=.png",
    "//cdn.example/x.png",
    "https://cdn.example/x.png.html",
    "https://cdn.example/x.svg",
    'https://cdn.example/x.png"onerror="alert(1)',
    "https://x.com:99999/jack/status/20",
]


@pytest.mark.parametrize("url", LOOK_ALIKES)
def test_look_alike_urls_are_not_embedded(url):
    assert embed_for(url) is None
    assert 'class="embed' not in prepare_body(f"<p>{url}</p>")


MIXED = [
    "<p>Watch https://youtu.be/dQw4w9WgXcQ now</p>",
    f'<p>See <a href="https://youtu.be/dQw4w9WgXcQ" {REL}>this</a>.</p>',
    "<p>https://youtu.be/dQw4w9WgXcQ https://vimeo.com/76979871</p>",
    "<p>https://youtu.be/dQw4w9WgXcQ<br>second line</p>",
    "<p><strong>https://youtu.be/dQw4w9WgXcQ</strong></p>",
    "<ul><li>https://youtu.be/dQw4w9WgXcQ</li></ul>",
    "<blockquote><p>https://youtu.be/dQw4w9WgXcQ</p></blockquote>",
]


@pytest.mark.parametrize("cleaned", MIXED)
def test_url_among_other_content_is_left_alone(cleaned):
    assert clean_html(cleaned) == cleaned
    assert expand_embeds(cleaned) == cleaned


PASTED_TWEET = (
    '<blockquote class="twitter-tweet"><p lang="en" dir="ltr">Polls close at 10pm. '
    '<b>Go</b> &amp; vote <a href="https://t.co/xyz">pic.twitter.com/xyz</a></p>&mdash; '
    f'Jack Dorsey (@jack) <a href="https://twitter.com/jack/status/{TWEET_ID}?ref_src=twsrc%5Etfw">'
    "November 25, 2024</a></blockquote> "
    '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
)


def test_pasted_twitter_embed_code_becomes_card():
    text = (
        '<p>Polls close at 10pm. Go &amp; vote <a href="https://t.co/xyz" '
        f"{REL}>pic.twitter.com/xyz</a></p>"
    )
    expected = tweet("jack", TWEET_ID, text=text, name="Jack Dorsey", date=NOV_2024)
    assert prepare_body(PASTED_TWEET) == expected


def test_pasted_tweet_keeps_surrounding_paragraphs():
    body = prepare_body(f"<p>Reaction:</p>{PASTED_TWEET}<p>More soon.</p>")
    assert body.startswith('<p>Reaction:</p><blockquote class="embed embed-tweet"')
    assert body.endswith("</blockquote> <p>More soon.</p>")


def test_plain_quote_without_tweet_link_is_left_alone():
    cleaned = '<blockquote><p>Hi</p><a href="https://e.example/" rel="x">src</a></blockquote>'
    assert expand_embeds(cleaned) == cleaned


def test_tweet_author_cannot_inject_markup():
    raw = (
        '<blockquote><p>x</p>&mdash; "&gt;&lt;img src=x onerror=alert(1)&gt; (@jack) '
        '<a href="https://x.com/jack/status/20">d</a></blockquote>'
    )
    body = prepare_body(raw)
    assert "<img" not in body
    assert (
        '<span class="embed-tweet-name">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</span>' in body
    )


def snowflake(when):
    """The first post ID Twitter could have issued at a given moment."""
    return str((int(when.timestamp() * 1000) - 1288834974657) << 22)


NOV_2026 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tweet_id", "expected"),
    [
        (snowflake(NOV_2026), NOV_2026),
        (str(int(snowflake(NOV_2026)) + 4_194_303), NOV_2026),  # same millisecond
        (TWEET_ID, datetime(2024, 11, 25, 10, 52, 30, 365000, tzinfo=UTC)),
        ("20", None),
        ("29700859247", None),
    ],
)
def test_tweet_time_from_snowflake(tweet_id, expected):
    assert tweet_time(tweet_id) == expected


def test_snowflake_date_is_rendered():
    tweet_id = snowflake(NOV_2026)
    expected = tweet("bbc", tweet_id, date=("2026-11-25T12:00:00Z", "25 Nov 2026"))
    assert prepare_body(f"https://x.com/bbc/status/{tweet_id}") == expected


def test_embed_for_returns_parts():
    assert embed_for("https://youtu.be/dQw4w9WgXcQ?t=1h") == Embed(
        "youtube", "dQw4w9WgXcQ", start=3600
    )
    assert embed_for("https://x.com/jack/status/20") == Embed("twitter", "20", handle="jack")


# Pasted frames and scripts from unknown hosts are refused: tests/test_sanitize.py, PASTED_CODES.
HOSTILE = [
    "<script>alert(1)</script>",
    '<p><a href="https://youtu.be/dQw4w9WgXcQ"><script>alert(1)</script></a></p>',
    '<p><a href="https://youtu.be/dQw4w9WgXcQ&quot;&gt;&lt;script&gt;">x</a></p>',
    '<p>https://youtu.be/dQw4w9WgXcQ"><script>alert(1)</script></p>',
    'https://cdn.example/a.png?"><script>alert(1)</script>',
    "<p>https://cdn.example/a.png?&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;.png</p>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<noscript><p title="</noscript><script>alert(1)</script>"></noscript>',
    '<blockquote><p>hi</p><a href="https://x.com/a/status/20"><script>x</script></a></blockquote>',
    "<<script>script>alert(1)<</script>/script>",
    PASTED_TWEET,
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_prepared_body_has_no_script_or_foreign_iframe(raw):
    body = prepare_body(raw).lower()
    assert "<script" not in body
    assert "javascript:" not in body
    assert "<iframe" not in body  # players are made by our script, on the reader's click
    for src in re.findall(r"data-embed-src=\"([^\"]*)\"", body):
        assert src.startswith(("https://www.youtube-nocookie.com/", "https://player.vimeo.com/"))


def test_consecutive_pictures_become_a_set_and_single_ones_do_not():
    one = '<figure><img src="/media/1/960.jpg" alt="a"><figcaption>A</figcaption></figure>'
    two = '<figure><img src="/media/2/960.jpg" alt="b"><figcaption>B</figcaption></figure>'
    body = prepare_body(f"<p>Intro</p>{one}\n{two}<p>Between</p>{one}")
    assert body.count('<div class="picture-set">') == 1
    grouped = body.split('<div class="picture-set">')[1].split("</div>")[0]
    assert grouped.count("<figure>") == 2 and "Between" not in grouped
    assert body.endswith(one.replace('alt="a">', 'alt="a" loading="lazy">'))

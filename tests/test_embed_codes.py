"""Pasted embed codes: each supported provider's official code makes the same embed as its link;
a frame or script from anywhere else is refused with a message that names where it comes from."""

import html

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect
from sqlalchemy import func, select

from liveblog.content.bodies import prepare_body
from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Entry

REL = 'rel="noopener noreferrer nofollow"'


def frame_card(provider, kind, name, title, src, link, view):
    """Expected markup for a click-to-load chart, map or audio player."""
    return (
        f'<figure class="embed embed-{kind}" data-provider="{provider}">'
        f'<div class="embed-frame" data-embed-src="{src}" data-embed-title="{title}">'
        f'<button type="button" class="embed-activate">Load {kind}'
        f'<span class="embed-note">Loads the {kind} from {name}</span></button></div>'
        f'<figcaption><a href="{link}" {REL}>{view} {name}</a></figcaption></figure>'
    )


def post_card(provider, name, url, handle="", author="", text=()):
    """Expected markup for a static card of a social post."""
    meta = [f'<span class="embed-post-name">{author}</span>'] if author else []
    if handle:
        meta.append(f'<span class="embed-post-handle">@{handle}</span>')
    meta.append(f'<a class="embed-post-link" href="{url}" {REL}>View post on {name}</a>')
    body = "".join(f"<p>{paragraph}</p>" for paragraph in text)
    body = f'<div class="embed-post-text">{body}</div>' if body else ""
    return (
        f'<blockquote class="embed embed-post" cite="{url}" data-provider="{provider}">{body}'
        f'<footer class="embed-post-meta">{" ".join(meta)}</footer></blockquote>'
    )


# Written from each provider's share/embed dialog as of 2025-2026.
YOUTUBE_CODE = (
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ?si=Xy12AbCd'
    'EfGh3456" title="YouTube video player" frameborder="0" allow="accelerometer; autoplay; '
    'clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share" '
    'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>'
)
YOUTUBE_NOCOOKIE_CODE = (
    '<iframe width="560" height="315" src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?si='
    'Xy12AbCdEfGh3456&amp;start=90" title="YouTube video player" frameborder="0" allow="autoplay;'
    ' encrypted-media; picture-in-picture" allowfullscreen></iframe>'
)
VIMEO_CODE = (
    '<div style="padding:56.25% 0 0 0;position:relative;"><iframe src="https://player.vimeo.com/'
    "video/76979871?h=8272103f6e&amp;badge=0&amp;autopause=0&amp;player_id=0&amp;app_id=58479\" "
    'frameborder="0" allow="autoplay; fullscreen; picture-in-picture; clipboard-write; '
    'encrypted-media" style="position:absolute;top:0;left:0;width:100%;height:100%;" '
    'title="The New Vimeo Player"></iframe></div>'
    '<script src="https://player.vimeo.com/api/player.js"></script>'
)
DATAWRAPPER_CODE = (
    '<iframe title="Turnout by district" aria-label="Map" id="datawrapper-chart-a1B2c" '
    'src="https://datawrapper.dwcdn.net/a1B2c/3/" scrolling="no" frameborder="0" style="width: 0;'
    ' min-width: 100% !important; border: none;" height="512" data-external="1"></iframe>'
    '<script type="text/javascript">!function(){"use strict";window.addEventListener("message",'
    '(function(a){if(void 0!==a.data["datawrapper-height"]){var e=document.querySelectorAll('
    '"iframe");for(var t in a.data["datawrapper-height"])for(var r=0;r<e.length;r++)if(e[r].'
    'contentWindow===a.source){var i=a.data["datawrapper-height"][t]+"px";e[r].style.height=i}}'
    "}))}();\n</script>"
)
DATAWRAPPER_SCRIPT_CODE = (
    '<div style="min-height:512px" id="datawrapper-vis-a1B2c"><script type="text/javascript" '
    'defer src="https://datawrapper.dwcdn.net/a1B2c/embed.js" charset="utf-8" '
    'data-target="#datawrapper-vis-a1B2c"></script><noscript><img src="https://datawrapper.dwcdn'
    '.net/a1B2c/full.png" alt="Turnout by district" /></noscript></div>'
)
FLOURISH_CODE = (
    '<div class="flourish-embed flourish-chart" data-src="visualisation/16234567"><script src='
    '"https://public.flourish.studio/resources/embed.js"></script><noscript><img src="https://'
    'public.flourish.studio/visualisation/16234567/thumbnail" width="100%" alt="chart '
    'visualization" /></noscript></div>'
)
FLOURISH_IFRAME_CODE = (
    "<iframe src='https://flo.uri.sh/visualisation/16234567/embed' title='Interactive or visual "
    "content' class='flourish-embed-iframe' frameborder='0' scrolling='no' style='width:100%;"
    "height:600px;' sandbox='allow-same-origin allow-forms allow-scripts allow-downloads "
    "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation'>"
    "</iframe><div style='width:100%!;margin-top:4px!important;text-align:right!important;'><a "
    "class='flourish-credit' href='https://public.flourish.studio/visualisation/16234567/?utm_"
    "source=embed&utm_campaign=visualisation/16234567' target='_top' style='text-decoration:none"
    "!important'><img alt='Made with Flourish' src='https://public.flourish.studio/resources/"
    "made_with_flourish.svg' style='width:105px!important;height:16px!important;border:none"
    "!important;margin:0!important;'> </a></div>"
)
MAP_URL = (
    "https://www.google.com/maps/embed?pb=!1m18!1m12!1m3!1d2482.9!2d-0.1276!3d51.5072!2m3!1f0!2f0"
    "!3f0!3m2!1i1024!2i768!4f13.1!3m3!1m2!1s0x487604ce3941eb1f%3A0x1a5342fdf12c5e6f!2sTrafalgar"
    "%20Square!5e0!3m2!1sen!2suk!4v1732530000000!5m2!1sen!2suk"
)
MAP_CODE = (
    f'<iframe src="{MAP_URL}" width="600" height="450" style="border:0;" allowfullscreen="" '
    'loading="lazy" referrerpolicy="no-referrer-when-downgrade"></iframe>'
)
SOUNDCLOUD_CODE = (
    '<iframe width="100%" height="166" scrolling="no" frameborder="no" allow="autoplay" src="'
    "https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/1234567890&color="
    "%23ff5500&auto_play=false&hide_related=false&show_comments=true&show_user=true&show_reposts"
    '=false&show_teaser=true"></iframe><div style="font-size: 10px; color: #cccccc;line-break: '
    "anywhere;word-break: normal;overflow: hidden;white-space: nowrap;text-overflow: ellipsis; "
    'font-family: Interstate,Lucida Grande,Lucida Sans Unicode,Lucida Sans,Garuda,Verdana,Tahoma,'
    'sans-serif;font-weight: 100;"><a href="https://soundcloud.com/bbc-radio-4" title="BBC Radio '
    '4" target="_blank" style="color: #cccccc; text-decoration: none;">BBC Radio 4</a> · <a href='
    '"https://soundcloud.com/bbc-radio-4/the-world-at-one" title="The World at One" target="_blank'
    '" style="color: #cccccc; text-decoration: none;">The World at One</a></div>'
)
INSTAGRAM_CODE = (
    '<blockquote class="instagram-media" data-instgrm-captioned data-instgrm-permalink="https://'
    'www.instagram.com/p/C1a2B3c4D5e/?utm_source=ig_embed&amp;utm_campaign=loading" data-instgrm-'
    'version="14" style=" background:#FFF; border:0; margin: 1px; max-width:540px; padding:0;">'
    '<div style="padding:16px;"> <a href="https://www.instagram.com/p/C1a2B3c4D5e/?utm_source=ig_'
    'embed&amp;utm_campaign=loading" style="background:#FFFFFF;" target="_blank"> <div style='
    '"display: flex;"><div style="background-color: #F4F4F4;"></div></div><div style="padding: '
    '19% 0;"></div><div style="display:block; height:50px;"><svg width="50px" height="50px" '
    'viewBox="0 0 60 60"><g><path d="M0 0"></path></g></svg></div><div style="padding-top: 8px;">'
    '<div style=" color:#3897f0;"> View this post on Instagram</div></div></a><p style=" color:'
    '#c9c8cd;"><a href="https://www.instagram.com/p/C1a2B3c4D5e/?utm_source=ig_embed&amp;utm_'
    'campaign=loading" style=" color:#c9c8cd;" target="_blank">A post shared by National '
    "Geographic (@natgeo)</a></p></div></blockquote>\n"
    '<script async src="//www.instagram.com/embed.js"></script>'
)
TIKTOK_CODE = (
    '<blockquote class="tiktok-embed" cite="https://www.tiktok.com/@scout2015/video/67183353908'
    '45095173" data-video-id="6718335390845095173" style="max-width: 605px;min-width: 325px;" > '
    '<section> <a target="_blank" title="@scout2015" href="https://www.tiktok.com/@scout2015?refer'
    '=embed">@scout2015</a> Scramble up ur name &#38; I’ll try to guess it😍❤️ <a title="foryoupage'
    '" target="_blank" href="https://www.tiktok.com/tag/foryoupage?refer=embed">#foryoupage</a> '
    '<a target="_blank" title="♬ original sound - Scout2015" href="https://www.tiktok.com/music/'
    'original-sound-6718335398298111749?refer=embed">♬ original sound - Scout2015</a> </section> '
    '</blockquote> <script async src="https://www.tiktok.com/embed.js"></script>'
)
BLUESKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
BLUESKY_CODE = (
    f'<blockquote class="bluesky-embed" data-bluesky-uri="at://{BLUESKY_DID}/app.bsky.feed.post/'
    '3laz2kaxlzk2y" data-bluesky-cid="bafyreibnvuxhdl5bz2hgs2ouajrcvnl4nj4uvmoy6gg5f4fwm6uexamp'
    'le" data-bluesky-embed-color-mode="system"><p lang="en">Polls are open until 10pm.<br><br>'
    f'<a href="https://bsky.app/profile/{BLUESKY_DID}/post/3laz2kaxlzk2y?ref_src=embed">[image or'
    f' embed]</a></p>&mdash; Bluesky (<a href="https://bsky.app/profile/{BLUESKY_DID}?ref_src='
    f'embed">@bsky.app</a>) <a href="https://bsky.app/profile/{BLUESKY_DID}/post/3laz2kaxlzk2y?'
    'ref_src=embed">November 25, 2024 at 10:52 AM</a></blockquote><script async src="https://'
    'embed.bsky.app/static/embed.js" charset="utf-8"></script>'
)
THREADS_CODE = (
    '<blockquote class="text-post-media" data-text-post-permalink="https://www.threads.net/@zuck/'
    'post/C1a2B3c4D5e" data-text-post-version="0" id="ig-tp-C1a2B3c4D5e" style=" background:#FFF;'
    ' border-width: 1px; border-style: solid; max-width:540px;"> <a href="https://www.threads.net/'
    '@zuck/post/C1a2B3c4D5e" style=" background:#FFFFFF;" target="_blank"> <div style=" padding: '
    '40px;"> <svg aria-label="Threads" height="17px" viewBox="0 0 192 192"><path d="M1 1"/></svg>'
    '<div style=" font-size: 15px;">Post by @zuck</div> <div style=" color: #000000;">View on '
    'Threads</div></div></a></blockquote>\n'
    '<script async src="https://www.threads.net/embed.js"></script>'
)
MASTODON_CODE = (
    '<blockquote class="mastodon-embed" data-embed-url="https://mastodon.social/@Gargron/11349383'
    '6446587234/embed" style="background: #FCF8FF; border-radius: 8px;"> <a href="https://mastodon'
    '.social/@Gargron/113493836446587234" target="_blank" style="align-items: center; color: '
    '#1C1A25;"> <svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 79 75">'
    '<path d="M74 16" fill="currentColor"/></svg> <div style="color: #787588;">Post by @Gargron@'
    'mastodon.social</div> <div style="font-weight: 500;">View on Mastodon</div> </a> </blockquote>'
    ' <script data-allowed-prefixes="https://mastodon.social/" async src="https://mastodon.social/'
    'embed.js"></script>'
)
MASTODON_IFRAME_CODE = (
    '<iframe src="https://mastodon.social/@Gargron/113493836446587234/embed" class="mastodon-'
    'embed" style="max-width: 100%; border: 0" width="400" allowfullscreen="allowfullscreen">'
    '</iframe><script src="https://mastodon.social/embed.js" async="async"></script>'
)
FACEBOOK_URL = "https://www.facebook.com/zuck/posts/10114567890123456"
FACEBOOK_IFRAME_CODE = (
    '<iframe src="https://www.facebook.com/plugins/post.php?href=https%3A%2F%2Fwww.facebook.com%2F'
    'zuck%2Fposts%2F10114567890123456&show_text=true&width=500" width="500" height="250" style='
    '"border:none;overflow:hidden" scrolling="no" frameborder="0" allowfullscreen="true" allow='
    '"autoplay; clipboard-write; encrypted-media; picture-in-picture; web-share"></iframe>'
)
FACEBOOK_SDK_CODE = (
    '<div id="fb-root"></div>\n<script async defer crossorigin="anonymous" src="https://connect.'
    'facebook.net/en_GB/sdk.js#xfbml=1&version=v21.0"></script>\n<div class="fb-post" data-href="'
    f'{FACEBOOK_URL}" data-width="500" data-show-text="true"><blockquote cite="{FACEBOOK_URL}" '
    'class="fb-xfbml-parse-ignore"><p>Voting ends tonight. Thanks to everyone who helped.</p>'
    'Posted by <a href="https://www.facebook.com/zuck">Mark Zuckerberg</a> on&nbsp;<a href="'
    f'{FACEBOOK_URL}">Tuesday, 25 November 2025</a></blockquote></div>'
)
DW = "https://datawrapper.dwcdn.net/a1B2c/3/"
FLOURISH_PAGE = "https://public.flourish.studio/visualisation/16234567/"
TRACK = "https://soundcloud.com/bbc-radio-4/the-world-at-one"
TRACK_PLAYER = "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Fbbc-radio-4%2F"
MAP_SRC = MAP_URL.replace("&", "&amp;")
DW_CHART = ("datawrapper", "chart", "Datawrapper", "Datawrapper chart")
FLOURISH_CHART = ("flourish", "chart", "Flourish", "Flourish chart")
INSTAGRAM = ("instagram", "Instagram", "https://www.instagram.com/p/C1a2B3c4D5e/")
TIKTOK = ("tiktok", "TikTok", "https://www.tiktok.com/@scout2015/video/6718335390845095173")
BLUESKY = ("bluesky", "Bluesky", "https://bsky.app/profile/bsky.app/post/3laz2kaxlzk2y")
THREADS = ("threads", "Threads", "https://www.threads.com/@zuck/post/C1a2B3c4D5e")
MASTODON = ("mastodon", "Mastodon", "https://mastodon.social/@Gargron/113493836446587234")
FACEBOOK = ("facebook", "Facebook", FACEBOOK_URL)

# (provider, official code, plain link, the card the link makes, the card the code makes when
# it carries more than a link can: the author's name, their handle, the post's text)
CODES = [
    ("youtube", YOUTUBE_CODE, "https://youtu.be/dQw4w9WgXcQ", None, None),
    ("youtube-nocookie", YOUTUBE_NOCOOKIE_CODE, "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=90s",
     None, None),
    ("vimeo", VIMEO_CODE, "https://vimeo.com/76979871/8272103f6e", None, None),
    ("datawrapper", DATAWRAPPER_CODE, DW,
     frame_card(*DW_CHART, DW, DW, "View the chart on"), None),
    ("datawrapper-script", DATAWRAPPER_SCRIPT_CODE, "https://www.datawrapper.de/_/a1B2c/",
     frame_card(*DW_CHART, DW.replace("3/", ""), DW.replace("3/", ""), "View the chart on"),
     None),
    ("flourish", FLOURISH_CODE, FLOURISH_PAGE,
     frame_card(*FLOURISH_CHART, "https://flo.uri.sh/visualisation/16234567/embed",
                FLOURISH_PAGE, "View the chart on"), None),
    ("flourish-iframe", FLOURISH_IFRAME_CODE, "https://flo.uri.sh/visualisation/16234567/embed",
     frame_card(*FLOURISH_CHART, "https://flo.uri.sh/visualisation/16234567/embed",
                FLOURISH_PAGE, "View the chart on"), None),
    ("google-maps", MAP_CODE, MAP_URL,
     frame_card("googlemaps", "map", "Google Maps", "Google map", MAP_SRC, MAP_SRC,
                "View the map on"), None),
    ("soundcloud", SOUNDCLOUD_CODE, TRACK,
     frame_card("soundcloud", "audio", "SoundCloud", "SoundCloud audio",
                TRACK_PLAYER + "the-world-at-one", TRACK, "Listen on"), None),
    ("instagram", INSTAGRAM_CODE, "https://www.instagram.com/p/C1a2B3c4D5e/?igsh=MTc4MmM1YmI2Ng==",
     post_card(*INSTAGRAM),
     post_card(*INSTAGRAM, handle="natgeo", author="National Geographic")),
    ("tiktok", TIKTOK_CODE, TIKTOK[2] + "?is_from_webapp=1&sender_device=pc",
     post_card(*TIKTOK, handle="scout2015"),
     post_card(*TIKTOK, handle="scout2015", text=[
         "Scramble up ur name &amp; I’ll try to guess it😍❤️ #foryoupage ♬ original sound"
         " - Scout2015"])),
    ("bluesky", BLUESKY_CODE, BLUESKY[2], post_card(*BLUESKY, handle="bsky.app"),
     post_card(*BLUESKY, handle="bsky.app", author="Bluesky",
               text=["Polls are open until 10pm."])),
    ("threads", THREADS_CODE, "https://www.threads.net/@zuck/post/C1a2B3c4D5e?xmt=AQGz",
     post_card(*THREADS, handle="zuck"), None),
    ("mastodon", MASTODON_CODE, MASTODON[2],
     post_card(*MASTODON, handle="Gargron@mastodon.social"), None),
    ("mastodon-iframe", MASTODON_IFRAME_CODE, MASTODON[2],
     post_card(*MASTODON, handle="Gargron@mastodon.social"), None),
    ("facebook-iframe", FACEBOOK_IFRAME_CODE, FACEBOOK_URL, post_card(*FACEBOOK), None),
    ("facebook-sdk", FACEBOOK_SDK_CODE, FACEBOOK_URL, post_card(*FACEBOOK),
     post_card(*FACEBOOK, author="Mark Zuckerberg",
               text=["Voting ends tonight. Thanks to everyone who helped."])),
]


@pytest.mark.parametrize(("code", "link", "link_card", "code_card"), [c[1:] for c in CODES],
                         ids=[c[0] for c in CODES])
def test_official_code_makes_the_same_embed_as_its_link(code, link, link_card, code_card):
    from_link = prepare_body(link)
    assert from_link.startswith(('<figure class="embed ', '<blockquote class="embed '))
    if link_card is not None:
        assert from_link == link_card
    assert prepare_body(code) == (code_card or from_link)


def test_code_and_text_around_it_keep_their_places():
    body = prepare_body(f"Before & after\n\n{YOUTUBE_CODE}\n\nAfter <b>this</b>")
    video = prepare_body("https://youtu.be/dQw4w9WgXcQ")
    assert body == f"<p>Before &amp; after</p>\n{video}\n<p>After <b>this</b></p>"
    body = prepare_body(f"<p>Before</p><p>{DATAWRAPPER_CODE}</p><p>After</p>")
    assert body == f"<p>Before</p>{prepare_body(DW)}<p>After</p>"


def test_several_codes_in_one_entry_each_make_their_embed():
    body = prepare_body(f"{INSTAGRAM_CODE}\n{MAP_CODE}\n{VIMEO_CODE}")
    assert body.count('class="embed ') == 3
    assert "National Geographic" in body and 'data-provider="googlemaps"' in body
    assert "<script" not in body and "<iframe" not in body


def _entries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Entry))


def test_posting_official_codes_through_the_api(client, actions):
    actions.create_story()
    for code, link in ((YOUTUBE_CODE, "https://youtu.be/dQw4w9WgXcQ"), (SOUNDCLOUD_CODE, TRACK),
                       (TIKTOK_CODE, TIKTOK[2])):
        from_code = actions.post_entry(body=code)["body_html"]
        from_link = actions.post_entry(body=link)["body_html"]
        assert 'class="embed' in from_code
        assert from_code.split("<footer")[-1] == from_link.split("<footer")[-1]


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ('<iframe src="https://evil.example/widget" width="500"></iframe>', "from evil.example"),
        ("<p>Our partner:</p><IFRAME SRC='//Charts.Partner.example/c/1'></IFRAME>",
         "from charts.partner.example"),
        ('<script async src="https://cdn.evil.example/embed.js"></script><p>x</p>',
         "from cdn.evil.example"),
        ('<iframe src="https://www.google.com/search?q=storm"></iframe>', "from www.google.com"),
        ('<iframe src="https://platform.twitter.com/embed/Tweet.html?id=20"></iframe>',
         "from platform.twitter.com"),
        ('<iframe srcdoc="&lt;p&gt;hi"></iframe>', "with inline content (srcdoc)"),
        ('<iframe src="data:text/html,hi"></iframe>', "with a data: address"),
    ],
)
def test_unknown_code_is_refused_naming_its_source(app, client, actions, code, named):
    actions.create_story()
    response = client.post("/api/stories/storm/entries", json={"body": code},
                           headers=actions.headers())
    assert response.status_code == 422
    message = response.get_json()["error"]["fields"]["body"]
    assert message == (f"An embed code {named} cannot be placed; paste a link to the post "
                       "instead.")
    assert _entries(app) == 0


def test_refusal_is_an_invalid_body():
    with pytest.raises(Invalid) as refused:
        prepare_body('<p>See</p><embed src="https://evil.example/x.swf">')
    assert refused.value.fields == {
        "body": "An embed code from evil.example cannot be placed; paste a link to the post "
        "instead."
    }


def test_soundcloud_code_without_its_credits_plays_the_same_track():
    code = SOUNDCLOUD_CODE.split("<div")[0]
    player = "https://w.soundcloud.com/player/?url=https%3A%2F%2Fapi.soundcloud.com%2Ftracks%2F"
    assert prepare_body(code) == frame_card(
        "soundcloud", "audio", "SoundCloud", "SoundCloud audio", player + "1234567890",
        player + "1234567890", "Listen on")


def test_pasted_post_text_cannot_carry_markup():
    code = TIKTOK_CODE.replace("Scramble up", "&lt;img src=x onerror=alert(1)&gt;<b>bold</b>")
    body = prepare_body(code)
    assert "<img" not in body and "<b>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;bold" in body


RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@browser_tests[0]
@browser_tests[1]
def test_charts_maps_and_audio_load_on_click_within_the_policy(browser, live_server, actions):
    """Nothing from a provider loads until the reader asks; then its frame passes the CSP."""
    actions.create_story()
    for code in (DATAWRAPPER_CODE, FLOURISH_CODE, MAP_CODE, SOUNDCLOUD_CODE, INSTAGRAM_CODE):
        actions.post_entry(body=code)
    context = browser.new_context(base_url=live_server)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if "127.0.0.1" not in request.url else None)
    # The network here is closed: requests that pass the CSP are aborted, not waited for.
    page.route("**/*", lambda route: route.abort()
               if "127.0.0.1" not in route.request.url else route.continue_())
    page.goto("/stories/storm")
    expect(page.locator(".embed-post")).to_contain_text("National Geographic")
    expect(page.locator("iframe")).to_have_count(0)
    assert outside == []
    expected = {
        "datawrapper": "https://datawrapper.dwcdn.net/a1B2c/3/",
        "flourish": "https://flo.uri.sh/visualisation/16234567/embed",
        "googlemaps": MAP_URL,
        "soundcloud": TRACK_PLAYER.replace("&amp;", "&") + "the-world-at-one",
    }
    for provider, src in expected.items():
        card = page.locator(f'figure[data-provider="{provider}"]')
        # The keyboard, not a click: each loaded frame takes focus and scrolls the page.
        card.locator(".embed-activate").press("Enter")
        expect(card.locator("iframe")).to_have_attribute("src", src)
    expect(page.locator("iframe")).to_have_count(4)
    assert page.evaluate("window.__violations") == []
    assert page.locator(".embed-post script, .embed-post button").count() == 0
    context.close()


def test_feeds_carry_charts_maps_and_posts_as_plain_links(client, actions):
    actions.create_story()
    for code in (DATAWRAPPER_CODE, MAP_CODE, BLUESKY_CODE):
        actions.post_entry(body=code)
    items = client.get("/stories/storm/feed.json").get_json()["items"]
    chart, map_, post = (item["content_html"] for item in reversed(items[:3]))
    assert "<button" not in chart + map_ + post
    assert f'<a href="{DW}">Datawrapper chart: {DW}</a>' in chart
    assert "Google map: https://www.google.com/maps/embed?pb=" in map_
    assert "Polls are open until 10pm." in post and f'href="{BLUESKY[2]}"' in post


def as_editor_text(code):
    """What the desk's editor sends for code pasted as plain text: escaped lines, one per <p>."""
    lines = code.split("\n")
    return "".join(f"<p>{html.escape(line, quote=False) or '<br>'}</p>" for line in lines)


@pytest.mark.parametrize(
    ("code", "link"),
    [(YOUTUBE_CODE, "https://youtu.be/dQw4w9WgXcQ"), (DATAWRAPPER_CODE, DW),
     (INSTAGRAM_CODE, None), (FACEBOOK_SDK_CODE, None)],
    ids=["youtube", "datawrapper-script-over-two-lines", "instagram", "facebook"],
)
def test_code_pasted_into_the_desk_editor_as_text_is_read_as_code(code, link):
    expected = prepare_body(link if link else code)
    body = prepare_body(f"<p>Before</p>{as_editor_text(code)}<p>After</p>")
    # The cleaner leaves a line break where it unwraps a <div> (Facebook's first line).
    assert body.replace("</p>\n<", "</p><") == f"<p>Before</p>{expected}<p>After</p>"


@pytest.mark.parametrize(
    "text",
    ["<p>&lt;b&gt;bold&lt;/b&gt; is how HTML says it</p>", "<p>&lt;iframe&gt; tags</p>",
     "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<p>&lt;p&gt;</p>"],
)
def test_writing_about_markup_stays_text(text):
    assert prepare_body(text) == text


def test_unknown_code_pasted_as_text_is_refused_too():
    with pytest.raises(Invalid) as refusal:
        prepare_body(as_editor_text('<iframe src="https://evil.example/x"></iframe>'))
    assert "from evil.example" in refusal.value.fields["body"]

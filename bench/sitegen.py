"""Generate a large local news site for benchmarks: ``python bench/sitegen.py DIR BASE_URL``.

Article pages carry what a real news CMS's pages carry, in about the proportions measured on the
real pages of ``/work/shared/corpus`` (bench/PROFILE.md): a mega-menu of 150 links in nested
lists, inline consent, configuration, tag-manager and ad-slot scripts, inline critical CSS,
JSON-LD (NewsArticle, BreadcrumbList), share bars, comment teasers, related stories and most-read
and latest lists with headlines and teasers, a newsletter box, ad slots, a cookie banner and a
large footer (site map, legal text): 70-90 KB and about 950 elements a page, of which the
article's own text is 2-10 KB. The text is generated sentence by sentence from word lists in
three languages, so no two articles are near-copies; the teasers around it are made of the same
words, so an extractor that takes them in is caught. Dates fall in the last three days, so
`max_article_age = "7d"` admits every article.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from html import escape as E
from pathlib import Path
from xml.sax.saxutils import escape

WORDS = {
    "en": "the of and to in a is that for on with as was by at from army troops shelling "
    "ceasefire talks president minister border village city region killed wounded missile "
    "drone attack strike forces government officials said reported week people civilians "
    "humanitarian aid refugees negotiations peace agreement parliament election market "
    "prices economy oil harvest school hospital water power road bridge river winter "
    "summer council mayor police court judge law budget tax bank trade exports".split(),
    "id": "yang dan di ke dari pada untuk dengan dalam ini itu akan telah pasukan serangan "
    "perang rudal tewas warga desa kota wilayah perbatasan presiden menteri pemerintah "
    "mengatakan kementerian pertahanan bantuan pengungsi perundingan damai pasar harga "
    "ekonomi sekolah rumah sakit air listrik jalan jembatan sungai musim hujan dewan "
    "polisi pengadilan hakim anggaran pajak bank ekspor petani nelayan".split(),
    "ru": "и в не на с что по как из за от для президент войска обстрел перемирие "
    "переговоры граница город регион погибли ранены ракета удар армия правительство "
    "заявил сообщили мирные жители помощь беженцы соглашение парламент выборы рынок "
    "цены экономика нефть урожай школа больница вода дорога мост река зима".split(),
}
PLACES = (
    "Karabakh Stepanakert Donbas Kharkiv Gaza Darfur Tigray Idlib Sanaa Goma Rakhine Jakarta "
    "Surabaya Medan Bandung Makassar"
).split()

# -- the site around the articles ----------------------------------------------------------------

SITE = "Warta"
CDN = "https://cdn.warta.example"
SECTIONS = {  # the mega-menu: each section opens a panel of its topics
    "News": "Local, National, Politics, Crime, Courts, Education, Health, Transport, Weather, "
    "Environment",
    "World": "Asia, Southeast Asia, Middle East, Europe, Africa, Americas, Oceania, Ukraine war, "
    "Gaza, Sudan",
    "Business": "Economy, Markets, Companies, Banking, Energy, Property, Trade, Startups, "
    "Personal finance, Jobs",
    "Technology": "Gadgets, Internet, Artificial intelligence, Cybersecurity, Telecoms, Science, "
    "Space, Games, Reviews, Apps",
    "Sport": "Football, Badminton, Basketball, MotoGP, Formula 1, Tennis, Boxing, Athletics, "
    "Swimming, Esports",
    "Culture": "Film, Music, Books, Television, Art, Theatre, Heritage, Celebrity, Festivals, "
    "Photography",
    "Lifestyle": "Food, Travel, Fitness, Family, Relationships, Home, Beauty, Motoring, Pets, "
    "Horoscope",
    "Opinion": "Editorials, Columnists, Letters, Analysis, Cartoons, Guest essays, Explainers, "
    "Interviews, Debate, Ombudsman",
    "Regions": "Java, Sumatra, Kalimantan, Sulawesi, Papua, Bali, Nusa Tenggara, Maluku, Aceh, "
    "Riau",
    "Video": "Latest videos, Documentaries, Live, Shorts, Explainers, Interviews, Sport clips, "
    "Weather, Press conferences, Music sessions",
    "Multimedia": "Photos, Infographics, Data, Maps, Timelines, Quizzes, Live blogs, Galleries, "
    "Longreads, Audio",
    "Services": "Subscribe, E-paper, Newsletters, Apps, Archive, Advertise, Events, Shop, "
    "Jobs board, Classifieds",
}
TRENDING = "Elections 2026, Karabakh, Gaza, Floods, Fuel prices, MotoGP, Rupiah, Heatwave"
FOOTER = {  # the footer's site map
    "Sections": ", ".join(SECTIONS),
    "Company": "About us, Editorial standards, Corrections policy, Ownership, Careers, "
    "Press releases, Awards, Partners, Advertise with us, Contact the newsroom",
    "Help": "FAQ, My account, Subscription, Delivery, Accessibility, Feedback, Site map, "
    "RSS feeds, Text-only edition, Report a problem",
    "Apps and social": "Android app, iPhone app, Facebook, X, Instagram, YouTube, TikTok, "
    "WhatsApp channel, Telegram, LinkedIn",
    "Our network": "Warta Bisnis, Warta Sport, Warta Tekno, Warta Daerah, Warta English, "
    "Warta TV, Warta Radio, Warta Kids, Warta Data, Warta Events",
    "Legal": "Terms of use, Privacy policy, Cookie policy, Cookie settings, Imprint, "
    "Copyright, Complaints, Licensing, Syndication, Do not sell my data",
}
SHARE = ("Facebook", "X", "WhatsApp", "Telegram", "LinkedIn", "Email", "Copy link")
READ_ALSO = {"en": "Read also", "id": "Baca juga", "ru": "Читайте также"}
AUTHORS = (
    "Ani Lestari, Budi Santoso, Citra Dewi, Dimas Pratama, Eka Putri, Fajar Nugroho, "
    "Gita Rahma, Hendra Wijaya, Indah Sari, Joko Susilo, Sarah Mitchell, Daniel Harper, "
    "Emily Clarke, James Porter, Olivia Bennett, Thomas Reed, Laura Hughes, Michael Grant, "
    "Anna Volkova, Dmitry Orlov, Elena Sokolova, Ivan Petrov, Maria Kuznetsova, Sergei Morozov"
).split(", ")
LEGAL = (
    "Warta is published by PT Warta Media Nusantara, Jl. Palmerah Barat 29, Jakarta 10270. "
    "Registered with the Press Council under number 1234/DP-Verifikasi/K/XII/2019. All rights "
    "reserved. No part of this website may be reproduced, distributed, transmitted, cached or "
    "otherwise used without the prior written permission of PT Warta Media Nusantara, except "
    "as permitted by law. Warta is not responsible for the content of external sites. Prices "
    "and market data are delayed by at least 15 minutes and are provided for information only, "
    "not for trading purposes or advice. We use cookies and similar technologies to recognise "
    "your repeat visits and preferences, to measure the effectiveness of campaigns and to "
    "improve our websites. By continuing to use this site you agree to our use of cookies as "
    "described in the cookie policy; you can change your choices at any time in the cookie "
    "settings. Advertisements and sponsored content are marked as such and produced without "
    "the involvement of the newsroom. Complaints about our journalism can be made to the "
    "readers' editor, whose findings are published every month."
)
COOKIE_TEXT = (
    "We and our 214 partners store and access information on your device, such as cookies, "
    "and process personal data such as unique identifiers and browsing data, for personalised "
    "advertising and content, advertising and content measurement, audience research and "
    "services development. You can accept, reject or manage your choices, including your right "
    "to object where legitimate interest is used, at any time in the privacy settings."
)
NEWSLETTER = (
    '<section class="newsletter"><h3>The morning briefing</h3><p>The stories that matter, in '
    "your inbox before 7am: the news, the context and one thing to read tonight. Free, every "
    'weekday.</p><form class="newsletter__form" action="https://list.warta.example/subscribe" '
    'method="post"><input type="email" name="email" placeholder="Your email address" required '
    'aria-label="Email"><input type="hidden" name="list" value="morning"><button class="button '
    'button--primary" type="submit">Sign up</button></form><p class="newsletter__legal">By '
    "signing up you agree to our terms of use and privacy policy. You can unsubscribe at any "
    "time.</p></section>\n"
)
CSS_PROPERTIES = (
    "display:flex;display:grid;display:block;display:none;align-items:center;"
    "justify-content:space-between;gap:var(--space-2);gap:var(--space-4);margin:0 auto;"
    "margin:0 0 var(--space-3);padding:var(--space-2) var(--space-3);padding:0;"
    "font:400 1rem/1.5 var(--font-sans);font:700 1.125rem/1.25 var(--font-serif);"
    "font-size:.875rem;letter-spacing:.02em;text-transform:uppercase;color:var(--c-ink);"
    "color:var(--c-muted);color:var(--c-brand);background:var(--c-paper);"
    "background:var(--c-band);border-bottom:1px solid var(--c-rule);border-radius:4px;"
    "position:relative;position:absolute;top:100%;left:0;z-index:20;width:100%;"
    "max-width:1280px;min-height:250px;overflow:hidden;white-space:nowrap;"
    "text-overflow:ellipsis;list-style:none;"
    "transition:opacity .2s ease-in-out,transform .2s ease-in-out;"
    "box-shadow:0 8px 24px rgba(0,0,0,.12);"
    "grid-template-columns:repeat(auto-fill,minmax(180px,1fr));aspect-ratio:16/9;object-fit:cover"
).split(";")
CSS_BLOCKS = (
    "site-header topbar topbar__date topbar__weather logo search search__input account "
    "mega-menu mega-menu__list mega-menu__item mega-menu__link mega-menu__panel mega-menu__col "
    "mega-menu__heading mega-menu__featured trending trending__link breadcrumb layout "
    "layout__main layout__sidebar article article__kicker article__title article__byline "
    "article__time article__media article__caption article__body article__tags tag share "
    "share__link share__icon author-card read-also ad ad__label comments comment "
    "comment__author comment__text related card card__media card__kicker card__title "
    "card__teaser card__time most-read most-read__rank newsletter newsletter__form latest "
    "site-footer footer__col footer__heading footer__link footer__legal cookie-banner button "
    "button--primary icon skip-link"
).split()


@cache
def _css() -> str:
    """A theme's critical CSS, inlined in the head: custom properties, a rule per component and
    a third of them again for narrow screens."""
    rng = random.Random(7)

    def rules(blocks: Sequence[str], most: int) -> str:
        return "".join(
            f".{block}{rng.choice(('', ':hover', ' a', ' > li', '--active', ' img'))}"
            f"{{{';'.join(rng.sample(CSS_PROPERTIES, rng.randint(1, most)))}}}"
            for block in blocks
        )

    return (
        ":root{--c-ink:#121212;--c-muted:#5f6368;--c-brand:#c8102e;--c-paper:#fff;"
        "--c-band:#f4f1ea;--c-rule:#dcdcdc;--space-1:4px;--space-2:8px;--space-3:16px;"
        "--space-4:24px;--font-sans:'Inter',system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
        "--font-serif:'Merriweather',Georgia,'Times New Roman',serif}"
        "*,*::before,*::after{box-sizing:border-box}html{-webkit-text-size-adjust:100%}"
        "body{margin:0;font:400 1rem/1.5 var(--font-sans);color:var(--c-ink)}"
        f"{rules(CSS_BLOCKS, 3)}@media (max-width:1023px){{{rules(CSS_BLOCKS[::3], 3)}}}"
        f"@font-face{{font-family:'Inter';font-display:swap;src:url({CDN}/fonts/inter-var.woff2) "
        "format('woff2')}"
    )


@cache
def _config_script() -> str:
    """The CMS's configuration, inlined as every portal does: feature flags, endpoints, paywall
    rules, ad units per section and the consent vendors."""
    rng = random.Random(11)
    config = {
        "site": {"name": SITE, "locale": "id_ID", "timezone": "Asia/Jakarta", "cdn": CDN},
        "env": "production",
        "release": "2026.12.03-4f9c2a1",
        "features": {
            f"{a}_{b}": rng.random() < 0.6
            for a in ("live", "paywall", "comments", "audio", "reco", "push", "dark", "ab")
            for b in ("enabled", "beta", "sticky", "lazy", "v2")
        },
        "endpoints": {
            name: f"https://api.warta.example/{name}/v{rng.randint(1, 4)}"
            for name in ("search", "comments", "reco", "metrics", "auth", "paywall", "push", "poll")
        },
        "paywall": {"meter": 5, "period": "month", "exempt": ["live", "opinion", "video"]},
        "ads": {
            "network": "/21804213/warta",
            "units": {
                section.lower(): [
                    {"slot": f"{section.lower()}_{pos}", "sizes": [[300, 250], [336, 280]]}
                    for pos in ("top", "mpu1", "mpu2", "inread", "sky", "bottom")
                ]
                for section in SECTIONS
            },
            "lazy": {"fetchMarginPercent": 150, "renderMarginPercent": 50},
        },
        "consent": {
            "vendors": [
                {"id": n, "name": f"Vendor {n}", "purposes": rng.sample(range(1, 11), 4)}
                for n in range(1, 61)
            ]
        },
    }
    return f"window.__WARTA_CONFIG__={json.dumps(config, separators=(',', ':'))};"


CONSENT_SCRIPT = (
    "!function(){var w=window,d=document,q=[],k='__tcfapiLocator';function l(){if(!w.frames[k])"
    "{if(d.body){var f=d.createElement('iframe');f.style.cssText='display:none';f.name=k;"
    "d.body.appendChild(f)}else{setTimeout(l,5)}}}l();w.__tcfapi=function(){var a=arguments;"
    "if(!a.length)return q;if(a[0]==='setGdprApplies'){if(a.length>3&&a[2]===2&&typeof a[3]"
    "==='boolean'){w.__gdprApplies=a[3];if(typeof a[2]==='function')a[2]('set',true)}}else if"
    "(a[0]==='ping'){var r={gdprApplies:w.__gdprApplies,cmpLoaded:false,cmpStatus:'stub'};"
    "if(typeof a[2]==='function')a[2](r)}else{q.push(a)}};w.addEventListener('message',"
    "function(e){var j=typeof e.data==='string',m={};try{m=j?JSON.parse(e.data):e.data}catch"
    "(x){}var c=m.__tcfapiCall;if(c){w.__tcfapi(c.command,c.version,function(v,s){var r="
    "{__tcfapiReturn:{returnValue:v,success:s,callId:c.callId}};e.source.postMessage(j?JSON."
    "stringify(r):r,'*')},c.parameter)}},false)}();"
)
TAG_MANAGER_SCRIPT = (
    "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'tm.start':new Date().getTime(),event:"
    "'tm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?"
    "'&l='+l:'';j.async=true;j.src='https://tags.warta.example/tm.js?id='+i+dl;f.parentNode."
    "insertBefore(j,f);})(window,document,'script','dataLayer','TM-W4RT4');"
)
AD_SIZES = {
    "leaderboard": ("[[970,250],[970,90],[728,90],[320,100],[320,50]]", "wide"),
    "mpu": ("[[300,250],[336,280],[300,600]]", "box"),
    "inread": ("[[1,1],[300,250],[640,360],'fluid']", "box"),
    "native": ("['fluid',[1,1]]", "wide"),
}
AD_SCRIPT = (
    "window.googletag=window.googletag||{cmd:[]};googletag.cmd.push(function(){"
    "var map_wide=googletag.sizeMapping().addSize([1024,0],[[970,250],[970,90],[728,90]])"
    ".addSize([768,0],[[728,90]]).addSize([0,0],[[320,100],[320,50]]).build();"
    "var map_box=googletag.sizeMapping().addSize([1024,0],[[300,600],[300,250]])"
    ".addSize([0,0],[[300,250],[336,280]]).build();"
    + "".join(
        f"googletag.defineSlot('/21804213/warta/article/{pos}{n}',{sizes},'div-ad-{pos}{n}')"
        f".defineSizeMapping(map_{kind}).setTargeting('pos','{pos}{n}')"
        ".setTargeting('refresh','30').addService(googletag.pubads());"
        for pos, (sizes, kind) in AD_SIZES.items()
        for n in range(1, 5)
    )
    + "googletag.pubads().enableSingleRequest();googletag.pubads().enableLazyLoad("
    "{fetchMarginPercent:150,renderMarginPercent:50,mobileScaling:2.0});"
    "googletag.pubads().collapseEmptyDivs();googletag.enableServices();});"
)
TAIL_SCRIPT = (
    "(function(){var io='IntersectionObserver'in window?new IntersectionObserver(function(es)"
    "{es.forEach(function(e){if(e.isIntersecting){var t=e.target;if(t.dataset.src){t.src=t."
    "dataset.src}if(t.dataset.srcset){t.srcset=t.dataset.srcset}io.unobserve(t)}})},{rootMargin:"
    "'200px 0px'}):null;document.querySelectorAll('img[data-src],iframe[data-src]').forEach("
    "function(el){io?io.observe(el):(el.src=el.dataset.src)});var h=document.querySelector("
    "'.site-header'),y=0;window.addEventListener('scroll',function(){var n=window.scrollY;"
    "h&&h.classList.toggle('site-header--hidden',n>y&&n>120);y=n},{passive:true});document."
    "querySelectorAll('.share__link').forEach(function(a){a.addEventListener('click',function"
    "(ev){if(a.dataset.network==='copy'){ev.preventDefault();navigator.clipboard&&navigator."
    "clipboard.writeText(location.href)}window.dataLayer.push({event:'share',network:a.dataset."
    "network})})})})();"
    "var _sf_async_config=window._sf_async_config=window._sf_async_config||{};_sf_async_config."
    "uid=67321;_sf_async_config.domain='warta.example';_sf_async_config.useCanonical=true;"
    "_sf_async_config.useCanonicalDomain=true;(function(){function load(){var e=document."
    "createElement('script');e.src='https://static.metrics.example/js/beacon.js';e.async=true;"
    "document.body.appendChild(e)}if(document.readyState==='complete'){load()}else{window."
    "addEventListener('load',load)}})();"
)
ICONS = "".join(
    f'<symbol id="icon-{name.lower().replace(" ", "-")}" viewBox="0 0 24 24"><path d="M{n + 2} 3h'
    f"{10 + n % 5}a{n % 4 + 2} {n % 4 + 2} 0 0 1 {n % 4 + 2} {n % 4 + 2}v{9 + n % 3}a3 3 0 0 1-3 "
    f'3H5a3 3 0 0 1-3-3V{6 + n % 2}a3 3 0 0 1 3-3z"/></symbol>'
    for n, name in enumerate((*SHARE, "Search", "Menu"))
)


def _slug(text: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in text.split())[:60]


def _sentence(rng: random.Random, words: list[str]) -> str:
    chosen = [rng.choice(words) for _ in range(rng.randint(9, 22))]
    if rng.random() < 0.3:
        chosen.insert(rng.randrange(len(chosen)), rng.choice(PLACES))
    return " ".join(chosen).capitalize() + "."


def _headline(rng: random.Random, words: list[str]) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(6, 11))).capitalize()


def _link(href: str, text: str, css: str, track: str) -> str:
    return f'<a class="{css}" href="{href}" data-track="{track}">{E(text)}</a>'


def _picture(path: str, alt: str, css: str, widths: Sequence[int] = (240, 480)) -> str:
    lead = len(widths) > 2  # the article's own image loads at once, the teasers' lazily
    srcset = ", ".join(f"{CDN}/img/{w}x{w * 9 // 16}/{path}.webp {w}w" for w in widths)
    loading = ' fetchpriority="high"' if lead else ' loading="lazy" decoding="async"'
    return (
        f'<picture class="{css}"><source type="image/webp" srcset="{srcset}" '
        'sizes="(max-width: 599px) 100vw, (max-width: 1023px) 50vw, 640px">'
        f'<img src="{CDN}/img/640x360/{path}.jpg" alt="{E(alt)}" width="640" height="360"'
        f"{loading}></picture>"
    )


def _ad(kind: str, n: int) -> str:
    return (
        f'<div class="ad ad--{kind}" id="div-ad-{kind}{n}" data-ad-slot="{kind}{n}" '
        'data-ad-refresh="30" aria-hidden="true"><span class="ad__label">Advertisement</span>'
        "</div>\n"
    )


@cache
def _header(base: str) -> str:
    """The masthead, the mega-menu (each section with a panel of its topics and a featured
    story, in nested lists) and the trending topics: the same on every page."""
    rng = random.Random(13)
    items = []
    for section, topics in SECTIONS.items():
        s = _slug(section)
        links = "".join(
            f'<li><a href="/{s}/{_slug(t)}/">{t}</a></li>\n' for t in topics.split(", ")
        )
        story = _link(f"/{s}/featured/", _headline(rng, WORDS["en"]), "mega-menu__story", "nav")
        items.append(
            f'<li class="mega-menu__item mega-menu__item--has-panel" data-section="{s}">'
            f"{_link(f'/{s}/', section, 'mega-menu__link', f'nav|{s}')}"
            f'<button class="mega-menu__toggle" aria-expanded="false" aria-controls="panel-{s}">'
            '<svg class="icon"><use href="#icon-menu"></use></svg></button>\n'
            f'<div class="mega-menu__panel" id="panel-{s}" hidden><div class="mega-menu__col">'
            f'<h4 class="mega-menu__heading">{section}</h4><ul class="mega-menu__sublist">\n'
            f'{links}</ul></div><div class="mega-menu__col mega-menu__col--featured">'
            '<h4 class="mega-menu__heading">Featured</h4><ul>\n'
            f'<li class="mega-menu__featured">{story}</li>\n</ul></div></div></li>\n'
        )
    trending = "".join(
        f"<li>{_link(f'/topic/{_slug(t)}/', t, 'trending__link', 'trending')}</li>"
        for t in TRENDING.split(", ")
    )
    return (
        '<a class="skip-link" href="#main">Skip to content</a>\n'
        + _ad("leaderboard", 1)
        + '<header class="site-header"><div class="topbar"><span class="topbar__date" '
        'data-clock="Asia/Jakarta"></span><span class="topbar__weather" data-city="Jakarta">'
        f'</span><a class="logo" href="{base}/" aria-label="{SITE} home">'
        f'<img src="{CDN}/brand/logo.svg" alt="{SITE}" width="180" height="40"></a>'
        f'<form class="search" action="{base}/search" role="search"><input class="search__input" '
        'name="q" type="search" placeholder="Search" aria-label="Search"><button type="submit">'
        '<svg class="icon"><use href="#icon-search"></use></svg></button></form>'
        f'<div class="account"><a class="button" href="{base}/login">Sign in</a>'
        f'<a class="button button--primary" href="{base}/subscribe">Subscribe</a></div></div>\n'
        '<nav class="mega-menu" aria-label="Main"><ul class="mega-menu__list">\n'
        f'{"".join(items)}</ul></nav>\n<nav class="trending" aria-label="Trending">'
        f"<span>Trending:</span><ul>{trending}</ul></nav></header>\n"
    )


@cache
def _footer(base: str) -> str:
    """The footer (site map, legal text), the cookie banner and the icons' SVG sprite."""
    columns = "".join(
        f'<div class="footer__col"><h4 class="footer__heading">{E(heading)}</h4><ul>'
        + "".join(f'<li><a href="/{_slug(n)}/">{E(n)}</a></li>' for n in names.split(", "))
        + "</ul></div>\n"
        for heading, names in FOOTER.items()
    )
    return (
        '<footer class="site-footer"><div class="footer__top">'
        f'<a class="logo" href="{base}/"><img src="{CDN}/brand/logo-white.svg" alt="{SITE}" '
        f'width="180" height="40"></a></div>\n<div class="footer__sitemap">\n{columns}</div>'
        f'<div class="footer__legal"><p>{E(LEGAL)}</p><p>© 2026 PT Warta Media Nusantara. '
        "All rights reserved.</p></div></footer>\n"
        '<div class="cookie-banner" role="dialog" aria-live="polite" hidden>'
        f'<p>{E(COOKIE_TEXT)}</p><button class="button button--primary" data-consent="accept">'
        'Accept all</button><button class="button" data-consent="reject">Reject all</button>'
        f'<a href="{base}/cookie-settings/">Manage choices</a></div>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" style="display:none">{ICONS}</svg>\n'
    )


def _share_bar(url: str, where: str) -> str:
    links = "".join(
        f'<li><a class="share__link share__link--{_slug(n)}" href="https://share.example/'
        f'{_slug(n)}?u={E(url)}" data-network="{_slug(n)}" data-track="share|{where}" '
        f'rel="noopener" target="_blank" aria-label="Share on {n}"><svg class="share__icon">'
        f'<use href="#icon-{_slug(n)}"></use></svg><span>{n}</span></a></li>'
        for n in SHARE
    )
    return f'<ul class="share share--{where}">{links}</ul>\n'


@dataclass(frozen=True, slots=True)
class Entry:
    """An article as a feed or sitemap lists it."""

    url: str
    published: datetime
    title: str


@dataclass(frozen=True, slots=True)
class Article:
    """What a page says about its article: the text and what the metadata repeats of it."""

    path: str
    title: str
    language: str
    published: datetime
    paragraphs: tuple[str, ...]
    author: str
    section: str = "World"


class Chrome:
    """What varies from page to page around an article (teasers, comments, counts), drawn
    from the page's own generator."""

    def __init__(self, article: Article, base: str, rng: random.Random) -> None:
        self.a, self.base, self.rng = article, base, rng
        self.words = WORDS[article.language]

    def story_url(self, hours_before: int = 0) -> str:
        when = self.a.published - timedelta(hours=hours_before)
        return f"{self.base}/news/{when:%Y/%m/%d}/{self.rng.randrange(10**7)}.html"

    def card(self) -> str:
        rng, title = self.rng, _headline(self.rng, self.words)
        when = self.a.published - timedelta(hours=rng.randint(1, 48))
        return (
            f'<li class="card card--related"><a class="card__link" href="{self.story_url()}" '
            'data-track="related">'
            + _picture(f"{when:%Y/%m}/{rng.randrange(10**6)}", title, "card__media")
            + f'<span class="card__kicker">{rng.choice(list(SECTIONS))}</span>'
            f'<h3 class="card__title">{E(title)}</h3>'
            f'<p class="card__teaser">{E(_sentence(rng, self.words))}</p>'
            f'<time class="card__time" datetime="{when.isoformat()}">{when:%d %b %Y, %H:%M}'
            "</time></a></li>\n"
        )

    def comments(self) -> str:
        rng = self.rng
        shown = rng.randint(1, 5)
        total = shown + rng.randint(0, 140)
        items = "".join(
            f'<li class="comment"><span class="comment__author">'
            f"{rng.choice(AUTHORS).split()[0]}{rng.randint(1, 999)}</span> "
            f'<time>{rng.randint(1, 59)} min ago</time><p class="comment__text">'
            + E(" ".join(_sentence(rng, self.words) for _ in range(rng.randint(1, 2))))
            + f'</p><span class="comment__likes">{rng.randint(0, 300)} likes</span> '
            '<button class="comment__reply">Reply</button></li>\n'
            for _ in range(shown)
        )
        return (
            f'<section class="comments" id="comments"><h2>Comments ({total})</h2><ul>\n{items}'
            f'</ul><button class="button" data-action="load-comments">Show all {total} comments'
            '</button> <a class="button button--primary" href="#comment-form">Write a comment'
            "</a></section>\n"
        )

    def sidebar(self) -> str:
        rng = self.rng
        most_read = "".join(
            f'<li><span class="most-read__rank">{n}</span>'
            + _link(self.story_url(), _headline(rng, self.words), "most-read__link", "most-read")
            + f'<span class="most-read__views">{rng.randint(2, 90)}.{rng.randint(0, 9)}K reads'
            "</span></li>\n"
            for n in range(1, 11)
        )
        latest = "".join(
            "<li>"
            + _link(self.story_url(), _headline(rng, self.words), "latest__link", "latest")
            + f'<time class="latest__time">{rng.randint(1, 59)} min ago</time></li>\n'
            for _ in range(rng.randint(5, 8))
        )
        return (
            f'<aside class="layout__sidebar">\n{_ad("mpu", 1)}'
            f'<section class="most-read"><h2>Most read</h2><ol>\n{most_read}</ol></section>\n'
            f"{NEWSLETTER}{_ad('mpu', 2)}"
            f'<section class="latest"><h2>Latest</h2><ul>\n{latest}</ul></section>\n</aside>\n'
        )

    def body(self) -> str:
        """The article's paragraphs, an ad after the second and a "read also" link after the
        fourth, as CMSs insert them."""
        a, out = self.a, []
        for n, paragraph in enumerate(a.paragraphs):
            out.append(f"<p>{E(paragraph)}</p>\n")
            if n == 1:
                out.append(_ad("inread", 1))
            if n == 3 and len(a.paragraphs) > 5:
                other = _link(
                    self.story_url(), _headline(self.rng, self.words), "read-also__link", "read"
                )
                out.append(
                    f'<p class="read-also"><strong>{READ_ALSO[a.language]}:</strong> {other}</p>\n'
                )
        return "".join(out)


def _head(a: Article, base: str, rng: random.Random) -> str:
    url = base + a.path
    modified = a.published + timedelta(minutes=rng.randint(3, 90))
    words = sum(len(p.split()) for p in a.paragraphs)
    tags = rng.sample(PLACES, 3)
    image = f"{CDN}/img/1200x675/{a.published:%Y/%m}/{_slug(a.title)}.jpg"
    description = E(a.paragraphs[0][:150])
    author = {"@type": "Person", "name": a.author, "url": f"{base}/author/{_slug(a.author)}/"}
    logo = {"@type": "ImageObject", "url": f"{CDN}/brand/logo-600.png", "width": 600, "height": 60}
    json_ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "description": a.paragraphs[0][:150],
        "image": [image, image.replace("1200x675", "1200x1200"), image.replace("675", "900")],
        "datePublished": a.published.isoformat(),
        "dateModified": modified.isoformat(),
        "author": [author],
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": SITE,
            "url": f"{base}/",
            "logo": logo,
            "sameAs": [f"https://social.example/{n}/warta" for n in ("fb", "x", "ig", "yt")],
        },
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "articleSection": a.section,
        "keywords": tags,
        "inLanguage": a.language,
        "wordCount": words,
        "isAccessibleForFree": True,
    }
    crumbs = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n + 1, "name": name, "item": f"{base}{href}"}
            for n, (name, href) in enumerate((("Home", "/"), (a.section, f"/{_slug(a.section)}/")))
        ],
    }
    page = {
        "type": "article",
        "template": "article-v3",
        "id": a.path.rsplit("-", 1)[-1].removesuffix(".html"),
        "section": a.section.lower(),
        "title": a.title,
        "author": a.author,
        "published": a.published.isoformat(),
        "modified": modified.isoformat(),
        "words": words,
        "tags": tags,
        "language": a.language,
        "paywall": "free",
    }
    data_layer = {"event": "pageview", "page": page, "user": {"status": "anonymous"}}
    metas = [
        ("property", "og:type", "article"),
        ("property", "og:site_name", SITE),
        ("property", "og:title", E(a.title)),
        ("property", "og:description", description),
        ("property", "og:url", url),
        ("property", "og:image", image),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:site", "@warta"),
        ("name", "twitter:title", E(a.title)),
        ("property", "article:published_time", a.published.isoformat()),
        ("property", "article:modified_time", modified.isoformat()),
        ("property", "article:section", a.section),
        *(("property", "article:tag", tag) for tag in tags),
        ("name", "author", E(a.author)),
    ]
    links = [
        *(f'rel="preconnect" href="https://{h}.warta.example" crossorigin' for h in ("cdn", "api")),
        *(
            f'rel="preconnect" href="https://{h}.warta.example" crossorigin'
            for h in ("tags", "ads")
        ),
        f'rel="preload" href="{CDN}/fonts/inter-var.woff2" as="font" type="font/woff2" crossorigin',
        f'rel="stylesheet" href="{CDN}/assets/app.7c1e9b.css" media="print" '
        "onload=\"this.media='all'\"",
        f'rel="icon" href="{CDN}/brand/favicon.ico"',
        f'rel="manifest" href="{base}/manifest.json"',
        f'rel="alternate" type="application/rss+xml" title="{SITE}" href="{base}/rss.xml"',
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="{a.language}" class="no-js"><head>\n<meta charset="utf-8">'
        '\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{E(a.title)} | {SITE}</title>\n"
        f'<meta name="description" content="{description}">\n'
        '<meta name="robots" content="index, follow, max-image-preview:large">\n'
        f'<link rel="canonical" href="{url}">\n'
        + "".join(f'<meta {kind}="{key}" content="{value}">\n' for kind, key, value in metas)
        + "".join(f"<link {link}>\n" for link in links)
        + f"<style>{_css()}</style>\n<script>{CONSENT_SCRIPT}</script>\n"
        f"<script>{_config_script()}</script>\n"
        "<script>window.dataLayer=window.dataLayer||[];window.dataLayer.push("
        f"{json.dumps(data_layer, ensure_ascii=False, separators=(',', ':'))});</script>\n"
        f"<script>{TAG_MANAGER_SCRIPT}</script>\n<script>{AD_SCRIPT}</script>\n"
        f'<script type="application/ld+json">{json.dumps(json_ld, ensure_ascii=False)}</script>\n'
        f'<script type="application/ld+json">{json.dumps(crumbs)}</script>\n'
        '<script async src="https://ads.warta.example/tag/js/gpt.js"></script>\n'
        '<script async src="https://cmp.warta.example/cmp.js"></script>\n</head>\n'
    )


def article_page(a: Article, base: str, rng: random.Random) -> str:
    """The whole page of article ``a`` on the site at ``base``; ``rng`` draws what varies from
    page to page around the article."""
    url, section, chrome = base + a.path, _slug(a.section), Chrome(a, base, rng)
    author_url, avatar = f"{base}/author/{_slug(a.author)}/", f"{CDN}/authors/{_slug(a.author)}"
    minutes = max(1, sum(len(p.split()) for p in a.paragraphs) // 200)
    head = _head(a, base, rng)
    tags = "".join(
        f"<li>{_link(f'{base}/tag/{_slug(t)}/', t, 'tag', 'tag')}</li>"
        for t in rng.sample(PLACES, 4)
    )
    image = _picture(
        f"{a.published:%Y/%m}/{_slug(a.title)}", a.title, "article__image", (320, 640, 960, 1280)
    )
    body = chrome.body()
    caption = f"{rng.choice(PLACES)}. Photo: {SITE}/Antara"
    comments = chrome.comments()
    related = "".join(chrome.card() for _ in range(rng.randint(2, 7)))
    return (
        head + f'<body class="page page--article section-{section} lang-{a.language}">\n'
        '<noscript><iframe src="https://tags.warta.example/ns.html?id=TM-W4RT4" height="0" '
        'width="0" style="display:none;visibility:hidden"></iframe></noscript>\n'
        + _header(base)
        + f'<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="{base}/">Home</a>'
        f'</li><li><a href="{base}/{section}/">{a.section}</a></li></ol></nav>\n'
        '<main id="main" class="layout layout--article"><div class="layout__main">\n'
        f'<article class="article" data-article-id="{a.path.rsplit("-", 1)[-1][:-5]}">'
        f'<header class="article__header"><a class="article__kicker" href="{base}/{section}/">'
        f'{a.section}</a><h1 class="article__title">{E(a.title)}</h1>\n'
        f'<div class="article__byline"><img class="article__avatar" src="{avatar}.jpg" alt="" '
        f'width="40" height="40"><span>By <a rel="author" href="{author_url}">{E(a.author)}</a>'
        f'</span> <time class="article__time" datetime="{a.published.isoformat()}">'
        f"{a.published:%d %B %Y, %H:%M} UTC</time> "
        f'<span class="article__reading-time">{minutes} min read</span></div>\n'
        + _share_bar(url, "top")
        + f'</header>\n<figure class="article__media">{image}<figcaption class="article__caption">'
        f"{caption}</figcaption></figure>\n"
        f'<div class="article__body" itemprop="articleBody">\n{body}</div>\n'
        f'<ul class="article__tags">{tags}</ul>\n'
        + _share_bar(url, "bottom")
        + f'<div class="author-card"><img src="{avatar}.jpg" alt="" width="80" height="80">'
        f'<a class="author-card__name" href="{author_url}">{E(a.author)}</a><p>{E(a.author)} '
        f"covers conflict, humanitarian affairs and regional politics for {SITE} from the "
        "Jakarta newsroom.</p></div>\n</article>\n"
        + _ad("native", 1)
        + comments
        + f'<section class="related"><h2>Related stories</h2><ul class="cards">\n{related}'
        "</ul></section>\n</div>\n"
        + chrome.sidebar()
        + "</main>\n"
        + _ad("leaderboard", 2)
        + _footer(base)
        + f"<script>{TAIL_SCRIPT}</script>\n"
        '<script async src="https://static.metrics.example/js/beacon.js"></script>\n'
        f'<script defer src="{CDN}/assets/app.7c1e9b.js"></script>\n</body>\n</html>\n'
    )


def write_article(
    out: Path,
    base: str,
    rng: random.Random,
    index: int,
    now: datetime,
    *,
    within: timedelta = timedelta(days=3),
) -> Entry:
    """Write one generated article page under ``out`` (the folder served at ``base``), published
    within ``within`` before ``now``; ``index`` makes its path unique within the site."""
    language = rng.choice(("en", "en", "id", "ru"))
    words = WORDS[language]
    published = now - timedelta(minutes=rng.randint(5, int(within.total_seconds() // 60)))
    title = " ".join(rng.choice(words) for _ in range(rng.randint(6, 11))).capitalize()
    paragraphs = tuple(
        " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 5)))
        for _ in range(rng.randint(6, 14))
    )
    path = f"/news/{published:%Y/%m/%d}/{'-'.join(title.lower().split()[:6])}-{index}.html"
    article = Article(path, title, language, published, paragraphs, AUTHORS[index % len(AUTHORS)])
    # What surrounds the text comes from a generator of its own, seeded by the path: ``rng``
    # draws what it drew before the pages carried all this, so the texts stay the same.
    page = article_page(article, base, random.Random(path))
    file = out / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(page, encoding="utf-8")
    return Entry(base + path, published, title)


def write_feed(out: Path, base: str, entries: Sequence[Entry], title: str = "Bench") -> None:
    """Write ``out/rss.xml``, an RSS 2.0 feed of ``entries`` in the order given."""
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.url)}</link>"
        f"<guid>{escape(e.url)}</guid>"
        f"<pubDate>{e.published:%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
        for e in entries
    )
    (out / "rss.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(base)}/</link>"
        f"<description>{escape(title)}: latest news</description>{items}</channel></rss>",
        encoding="utf-8",
    )


def write_sitemaps(out: Path, base: str, entries: Sequence[Entry]) -> None:
    """Write ``out/sitemap.xml``, an index of 1,000-URL sitemaps listing ``entries``."""
    index = []
    for n, start in enumerate(range(0, len(entries), 1000)):
        chunk = entries[start : start + 1000]
        urls = "".join(
            f"<url><loc>{e.url}</loc><lastmod>{e.published.isoformat()}</lastmod></url>"
            for e in chunk
        )
        (out / f"sitemap-{n}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
            f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )
        index.append(
            f"<sitemap><loc>{base}/sitemap-{n}.xml</loc>"
            f"<lastmod>{chunk[0].published.isoformat()}</lastmod></sitemap>"
        )
    (out / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns='
        f'"http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(index)}</sitemapindex>'
    )


def write_robots(out: Path) -> None:
    (out / "robots.txt").write_text("User-agent: *\nAllow: /\n")


def generate(out: Path, base: str, count: int, seed: int = 20201102) -> list[str]:
    """Write ``count`` articles, feeds and sitemaps under ``out``; return the article URLs."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    entries = [write_article(out, base, rng, i, now) for i in range(count)]
    entries.sort(key=lambda e: e.published, reverse=True)
    write_feed(out, base, entries[:100])
    write_sitemaps(out, base, entries)
    write_robots(out)
    return [e.url for e in entries]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("base", help="the site's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    urls = generate(args.out, args.base.rstrip("/"), args.articles)
    print(f"{len(urls)} articles in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

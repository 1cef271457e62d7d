"""The demo sites' pages as their publishers would serve them: a busy Indonesian news portal's
article (menus, share buttons, "Berita Terkait", "Rekomendasi" and "Berita Terkini" lists,
promo boxes, footer), a plainer wire agency's, section pages and RSS feeds."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from crawler.demo.articles import (
    AMP_PATH,
    CEASEFIRE,
    WIRE_STORIES,
    Story,
)

E = html.escape


MENU = [
    "Home",
    "Nasional",
    "Metro",
    "Daerah",
    "Ekonomi",
    "Internasional",
    "Sports",
    "Otomotif",
    "Tekno",
    "Sains",
    "Edukasi",
    "Lifestyle",
    "Kalam",
    "Infografis",
    "Video",
    "Foto",
]


RELATED = [  # "Berita Terkait", as on the seed page
    "Ini Kesulitan Rusia Jika ingin Menempatkan Jet Tempur di Biak Papua",
    "Kenapa Alaska Dijual Rusia ke Amerika Serikat?",
    "13 Negara Gabung Proyek Stasiun Bulan Rusia dan China, Ada Indonesia?",
    "Unjuk Kekuatan, Kapal Selam Nuklir Rusia Tembakkan Rudal Jelajah Kalibr Sejauh 1.100 Km",
    "Jet Tempur Su-27 Ukraina Jatuh saat Bertempur Melawan Drone Rusia",
    "Wapres AS JD Vance: Ukraina Tak Akan Menang Perang Melawan Rusia!",
    "Dengan Tulus, Putin Ucapkan Terima Kasih kepada Tentara Korea Utara yang Membantu Merebut Kursk",
    "Informasi Intelijen: India Akan Serang Pakistan dalam 24 Sampai 36 Jam Ke Depan",
    "Tegang! Jet Tempur Pakistan Usir Pesawat Militer Rafale India di Atas Kashmir",
]


RECOMMENDED = [
    "BNI Perkuat Komunikasi Digital BUMN Melalui Optimasi AI",
    "Entaskan Kemiskinan, Baznas RI Luncurkan Program Balai Ternak di Kabupaten Mojokerto",
    "Mutasi TNI Akhir April 2025, 5 Pati TNI AL Digeser Jadi Staf Khusus KSAL",
]


LATEST = [
    ("Bagaimana Skenario Serangan Balas Dendam India ke Pakistan?", "1 jam yang lalu"),
    (
        "Bergaji Rp531 Juta per Bulan, tapi Kenapa Paus Fransiskus Tak pernah Mengambilnya?",
        "1 jam yang lalu",
    ),
    (
        "Iran Gantung Agen Mossad yang Membunuh Pejabat IRGC dan Menyerang Fasilitas Nuklir",
        "4 jam yang lalu",
    ),
    (
        "Hotel di Jepang Minta Turis Israel Tandatangani Pernyataan Tidak Terlibat Kejahatan Perang",
        "4 jam yang lalu",
    ),
    ("600 Tentara Korea Utara Mati Sia-sia, Jenazahnya Dikremasi di Rusia", "6 jam yang lalu"),
    (
        "5 Alasan Mahathir Mohammad Membenci Singapura, Salah Satunya Hidup dalam Bayang-bayang "
        "Lee Kuan Yew",
        "7 jam yang lalu",
    ),
]


INFOGRAPHIC = "4 Alasan AS Kecanduan Berperang yang Bahayakan Keamanan Global"


PROMO = (
    "Dapatkan berita terkini dan kejutan menarik dari SINDOnews.com, Klik Disini untuk "
    "mendaftarkan diri anda sekarang juga!"
)


COPYRIGHT = "Copyright ©2025 SINDOnews.com All Rights Reserved"


DAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]


MONTHS_ID = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]


def short(title: str) -> str:
    return " ".join(title.split()[:3]) + "..."


def slug(title: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split())[:60]


def date_line(story: Story) -> str:
    moment = datetime.fromisoformat(story.published)
    return (
        f"{DAYS_ID[moment.weekday()]}, {moment.day:02d} {MONTHS_ID[moment.month - 1]} "
        f"{moment.year} - {moment:%H:%M} WIB"
    )


def _paragraph_html(story: Story, index: int, text: str) -> str:
    body = E(text).replace(" etnis Armenia .", ' etnis <a href="/tag/armenia">Armenia</a> .')
    for after, label, headline in story.read_also:
        if after == index:
            body += (
                f' ({label}: <a href="/read/2213{index}0/41/{slug(headline)}-1604280000">'
                f"{E(headline)}</a> )"
            )
    return f"<p>{body}</p>"


def _lists() -> str:
    related = "".join(
        f'<li><a href="/read/22{i}001/41/{slug(t)}-160428{i:04d}"><div class="thumb">'
        f'<img src="/img/t{i}.jpg" alt=""></div><div class="title-short">{E(short(t))}</div>'
        f'<div class="title">{E(t)}</div></a></li>'
        for i, t in enumerate(RELATED)
    )
    recommended = "".join(
        f'<li><a href="https://example.com/rek/{i}"><div class="title-short">{E(short(t))}</div>'
        f'<div class="title">{E(t)}</div></a></li>'
        for i, t in enumerate(RECOMMENDED)
    )
    latest = "".join(
        f'<li><a href="/read/23{i}001/40/{slug(t)}-160429{i:04d}"><div class="title-short">'
        f'{E(short(t))}</div><div class="title">{E(t)}</div></a>'
        f'<span class="time">{E(ago)}</span></li>'
        for i, (t, ago) in enumerate(LATEST)
    )
    return (
        f'<div class="lanjut">Lanjut Baca Berita Terkait Lainnya</div>'
        f'<section class="related"><h3>Berita Terkait</h3><ul>{related}</ul></section>'
        f'<section class="rekomendasi"><h3>Rekomendasi</h3><ul>{recommended}</ul></section>'
        f'<section class="terkini"><h3>Berita Terkini</h3><ul>{latest}</ul></section>'
        f'<section class="infografis"><h3>Infografis</h3><a href="/infografis/1">'
        f'<div class="title-short">{E(short(INFOGRAPHIC))}</div>'
        f'<div class="title">{E(INFOGRAPHIC)}</div></a></section>'
    )


def _menu() -> str:
    items = "".join(f'<li><a href="/{m.lower()}/">{m}</a></li>' for m in MENU)
    return (
        '<header><div class="topbar"><a class="logo" href="/">WARTA</a>'
        '<form action="/search"><input name="q" placeholder="Cari berita"></form>'
        '<a href="/login">Masuk</a> <a href="/register">Daftar</a></div>'
        f'<nav class="menu"><ul>{items}</ul></nav></header>'
    )


def _footer() -> str:
    links = "".join(
        f'<a href="/{p}">{p.title()}</a> '
        for p in ("about", "redaksi", "pedoman-media-siber", "kontak", "privacy")
    )
    return f'<footer><div class="links">{links}</div><div class="copy">{COPYRIGHT}</div></footer>'


def news_article(story: Story, *, amp: bool = False) -> str:
    url = "{{news}}" + story.path
    canonical = url
    tags_meta = "".join(f'<meta property="article:tag" content="{E(t)}">' for t in story.tags)
    amp_link = f'<link rel="amphtml" href="{{{{news}}}}{AMP_PATH}">' if story is CEASEFIRE else ""
    charset = story.extra.get("encoding", "utf-8")
    head = (
        f'<!DOCTYPE html><html lang="{story.language}"{" amp" if amp else ""}><head>'
        f'<meta charset="{charset}"><meta name="viewport" content="width=device-width">'
        f"<title>{E(story.title)} - Warta</title>"
        f'<meta name="description" content="{E(story.paragraphs[0][:150])}">'
        f'<meta property="og:title" content="{E(story.title)}">'
        f'<meta property="og:site_name" content="Warta">'
        f'<meta property="og:url" content="{canonical}">'
        f'<meta property="og:image" content="{{{{news}}}}/img/{slug(story.title)}.jpg">'
        f'<meta property="article:published_time" content="{story.published}">'
        f'<meta name="author" content="{E(story.author)}">{tags_meta}'
        f'<link rel="canonical" href="{canonical}">{amp_link}'
        "<script>window.dataLayer=window.dataLayer||[];</script></head><body>"
    )
    paragraphs = "".join(_paragraph_html(story, i, p) for i, p in enumerate(story.paragraphs))
    caption = (
        f'<figure class="photo"><img src="/img/{slug(story.title)}.jpg" alt="">'
        f'<figcaption class="caption">{E(story.caption)}</figcaption></figure>'
        if story.caption
        else ""
    )
    if amp:
        return (
            head.replace(" amp>", " amp>") + '<header><a href="/">WARTA</a></header><article>'
            f'<h1>{E(story.title)}</h1><div class="date">{date_line(story)}</div>{caption}'
            f"{paragraphs}</article><footer>{COPYRIGHT}</footer></body></html>"
        )
    section = story.section
    body = (
        f'{_menu()}<div class="breadcrumb"><a href="/">Home</a> › '
        f'<a href="/{section.lower()}/">{E(section)}</a></div>'
        '<main><article class="detail">'
        f'<h1>{E(story.title)}</h1><div class="date">{date_line(story)}</div>'
        f'<div class="loading">loading...</div><div class="title-short">{E(short(story.title))}'
        f"</div>{caption}"
        '<div class="font-size"><a href="#">A</a> <a href="#">A</a> <a href="#">A</a></div>'
        '<div class="share"><a href="#">Facebook</a> <a href="#">Twitter</a> '
        '<a href="#">WhatsApp</a></div>'
        f'<div class="content" id="content">{paragraphs}</div>'
        '<div class="editor">(min)</div>'
        f'<div class="promo">{E(PROMO)}</div>'
        f"</article>{_lists()}</main>{_footer()}</body></html>"
    )
    page = head + body
    if story.extra.get("malformed"):
        # Unclosed tags, stray closers and a broken attribute, as badly templated pages have.
        page = (
            page.replace('<div class="share">', '<div class="share"><b><i>')
            .replace("</article>", "</div></span></article>")
            .replace('<div class="editor">', '<div class="editor" data-x="broken>')
        )
    return page


def wire_article(story: Story) -> str:
    url = "{{wire}}" + story.path
    paragraphs = "".join(f"<p>{E(p)}</p>" for p in story.paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{story.language}"><head><meta charset="utf-8">'
        f"<title>{E(story.title)} | Kawat Wire Service</title>"
        f'<link rel="canonical" href="{url}"><meta property="og:site_name" content="Kawat">'
        f'<meta property="article:published_time" content="{story.published}">'
        f'<meta name="author" content="{E(story.author)}"></head><body>'
        '<div class="masthead"><a href="/">KAWAT</a> <a href="/world/">World</a> '
        '<a href="/business/">Business</a> <a href="/markets/">Markets</a> '
        '<a href="/about">About us</a> <a href="/contact">Contact</a></div>'
        f'<div class="story"><h1>{E(story.title)}</h1>'
        f'<p class="byline">By {E(story.author)} · {story.published_utc}</p>{paragraphs}'
        '<p class="notice">© Kawat. All rights reserved. Republication only under licence.</p>'
        '</div><div class="more"><h2>More from Kawat</h2><ul>'
        + "".join(f'<li><a href="{s.path}">{E(s.title)}</a></li>' for s in WIRE_STORIES)
        + '</ul></div><div class="footer">Kawat Wire Service, Jakarta · '
        '<a href="/tag/world">World</a></div></body></html>'
    )


def link(story: Story, suffix: str = "") -> str:
    return f'<li><a href="{story.path}{suffix}">{E(story.title)}</a></li>'


def section_page(title: str, links: str, lang: str = "id") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{E(title)} - Warta</title></head><body>{_menu()}<main><h1>{E(title)}</h1>"
        f'<ul class="list">{links}</ul><div class="tags"><a href="/tag/armenia">#Armenia</a> '
        '<a href="/tag/azerbaijan">#Azerbaijan</a> <a href="/author/muhaimin-hasan">Penulis</a>'
        f"</div></main>{_footer()}</body></html>"
    )


def rss(stories: Sequence[tuple[str, str, Story | None]]) -> str:
    items = []
    for link, title, story in stories:
        date = ""
        if story is not None:
            moment = datetime.fromisoformat(story.published_utc.replace("Z", "+00:00"))
            date = f"<pubDate>{format_datetime(moment)}</pubDate>"
        items.append(
            f"<item><title>{E(title)}</title><link>{link}</link><guid>{link}</guid>{date}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>Warta Internasional</title><link>{{news}}/internasional/</link>"
        "<description>Berita internasional</description>" + "".join(items) + "</channel></rss>\n"
    )

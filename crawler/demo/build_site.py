"""Build the demo news site's files from ``articles.py``: ``python -m crawler.demo.build_site``.

The output (``crawler/demo/pages/``) is committed; run this after changing the stories. Pages
are laid out like a busy Indonesian news portal (menus, share buttons, "Berita Terkait",
"Rekomendasi" and "Berita Terkini" lists, promo boxes, footer) and a plainer wire agency site.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from crawler.demo.articles import (
    AMP_PATH,
    CEASEFIRE,
    NEWS_SITEMAP_ONLY,
    NEWS_STORIES,
    OLD_SITEMAP_URLS,
    PAPUA,
    SEED_STORY,
    STORIES,
    WIRE_STORIES,
    Story,
)

OUT = Path(__file__).parent / "pages"
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


def _short(title: str) -> str:
    return " ".join(title.split()[:3]) + "..."


def _slug(title: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split())[:60]


def _date_line(story: Story) -> str:
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
                f' ({label}: <a href="/read/2213{index}0/41/{_slug(headline)}-1604280000">'
                f"{E(headline)}</a> )"
            )
    return f"<p>{body}</p>"


def _lists() -> str:
    related = "".join(
        f'<li><a href="/read/22{i}001/41/{_slug(t)}-160428{i:04d}"><div class="thumb">'
        f'<img src="/img/t{i}.jpg" alt=""></div><div class="title-short">{E(_short(t))}</div>'
        f'<div class="title">{E(t)}</div></a></li>'
        for i, t in enumerate(RELATED)
    )
    recommended = "".join(
        f'<li><a href="https://example.com/rek/{i}"><div class="title-short">{E(_short(t))}</div>'
        f'<div class="title">{E(t)}</div></a></li>'
        for i, t in enumerate(RECOMMENDED)
    )
    latest = "".join(
        f'<li><a href="/read/23{i}001/40/{_slug(t)}-160429{i:04d}"><div class="title-short">'
        f'{E(_short(t))}</div><div class="title">{E(t)}</div></a>'
        f'<span class="time">{E(ago)}</span></li>'
        for i, (t, ago) in enumerate(LATEST)
    )
    return (
        f'<div class="lanjut">Lanjut Baca Berita Terkait Lainnya</div>'
        f'<section class="related"><h3>Berita Terkait</h3><ul>{related}</ul></section>'
        f'<section class="rekomendasi"><h3>Rekomendasi</h3><ul>{recommended}</ul></section>'
        f'<section class="terkini"><h3>Berita Terkini</h3><ul>{latest}</ul></section>'
        f'<section class="infografis"><h3>Infografis</h3><a href="/infografis/1">'
        f'<div class="title-short">{E(_short(INFOGRAPHIC))}</div>'
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
        f'<meta property="og:image" content="{{{{news}}}}/img/{_slug(story.title)}.jpg">'
        f'<meta property="article:published_time" content="{story.published}">'
        f'<meta name="author" content="{E(story.author)}">{tags_meta}'
        f'<link rel="canonical" href="{canonical}">{amp_link}'
        "<script>window.dataLayer=window.dataLayer||[];</script></head><body>"
    )
    paragraphs = "".join(_paragraph_html(story, i, p) for i, p in enumerate(story.paragraphs))
    caption = (
        f'<figure class="photo"><img src="/img/{_slug(story.title)}.jpg" alt="">'
        f'<figcaption class="caption">{E(story.caption)}</figcaption></figure>'
        if story.caption
        else ""
    )
    if amp:
        return (
            head.replace(" amp>", " amp>") + '<header><a href="/">WARTA</a></header><article>'
            f'<h1>{E(story.title)}</h1><div class="date">{_date_line(story)}</div>{caption}'
            f"{paragraphs}</article><footer>{COPYRIGHT}</footer></body></html>"
        )
    section = story.section
    body = (
        f'{_menu()}<div class="breadcrumb"><a href="/">Home</a> › '
        f'<a href="/{section.lower()}/">{E(section)}</a></div>'
        '<main><article class="detail">'
        f'<h1>{E(story.title)}</h1><div class="date">{_date_line(story)}</div>'
        f'<div class="loading">loading...</div><div class="title-short">{E(_short(story.title))}'
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


def _link(story: Story, suffix: str = "") -> str:
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


def build() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    news, wire = OUT / "news", OUT / "wire"

    def write(root: Path, path: str, text: str, encoding: str = "utf-8") -> None:
        file = root / path.lstrip("/")
        if path.endswith("/"):
            file = file / "index.html"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(text.encode(encoding))

    routes: list[str] = []
    for story in NEWS_STORIES:
        encoding = story.extra.get("encoding", "utf-8")
        page = news_article(story)
        if story.language == "en" and story.path.endswith("1604320000"):
            # Bytes in windows-1252, served as UTF-8: the charset lie the crawl must survive.
            encoding = "cp1252"
            page = page.replace('<meta charset="utf-8">', "")
        write(news, story.path, page, encoding)
        if encoding == "windows-1251":
            routes.append(f'["{story.path}"]\ncontent_type = "text/html; charset=windows-1251"\n')
        if "content_type" in story.extra:
            routes.append(f'["{story.path}"]\ncontent_type = "{story.extra["content_type"]}"\n')
    write(news, AMP_PATH, news_article(CEASEFIRE, amp=True))
    for story in WIRE_STORIES:
        write(wire, story.path, wire_article(story))

    by_lang = {lang: [s for s in NEWS_STORIES if s.language == lang] for lang in ("id", "en", "ru")}
    write(
        news,
        "/",
        section_page(
            "Warta - Berita Terkini",
            "".join(_link(s) for s in (SEED_STORY, by_lang["en"][0], CEASEFIRE))
            + '<li><a href="/internasional/">Internasional</a></li><li><a href="/en/">English</a>'
            '</li><li><a href="/ru/">Русский</a></li>',
        ),
    )
    write(
        news,
        "/internasional/",
        section_page(
            "Internasional",
            "".join(
                [
                    _link(SEED_STORY),
                    _link(CEASEFIRE, "?utm_source=homepage&utm_medium=web&fbclid=abc123"),
                    f'<li><a href="{AMP_PATH}">{E(CEASEFIRE.title)} (AMP)</a></li>',
                    _link(next(s for s in NEWS_STORIES if s.extra.get("malformed"))),
                    _link(next(s for s in NEWS_STORIES if "content_type" in s.extra)),
                    '<li><a href="/private/read/9999/41/rahasia-negara-bocor-1604280000">Rahasia</a></li>',
                    '<li><a href="/read/1800/41/berita-yang-sudah-dihapus-1604300000">Dihapus</a></li>',
                ]
            ),
        ),
    )
    write(news, "/en/", section_page("World", "".join(_link(s) for s in by_lang["en"]), "en"))
    write(news, "/ru/", section_page("Мир", "".join(_link(s) for s in by_lang["ru"]), "ru"))
    write(
        news,
        "/berita-lain/",
        section_page(
            "Berita Lain",
            "".join(
                [
                    _link(next(s for s in NEWS_STORIES if s.section == "Ekonomi")),
                    '<li><a href="/read/1900/41/server-sedang-bermasalah-1604300100">Galat</a></li>',
                    '<li><a href="/read/1910/41/artikel-dipindahkan-1604300110">Dipindahkan</a></li>',
                    '<li><a href="/read/1920/41/tautan-berputar-1604300130">Berputar</a></li>',
                    '<li><a href="/read/1940/41/video-detik-detik-serangan-1604300170">Video</a></li>',
                    '<li><a href="/read/1932/41/infografis-peta-konflik-1604300160">Infografis</a></li>',
                    '<li><a href="/read/1800/41/berita-yang-sudah-dihapus-1604300000">Dihapus</a></li>',
                ]
            ),
        ),
    )
    write(news, "/about", section_page("Tentang Kami", ""))
    # A video page: a headline and a player, no article text (counted as empty, not stored).
    write(
        news,
        "/read/1940/41/video-detik-detik-serangan-1604300170",
        section_page(
            "Video: Detik-detik Serangan",
            '<li><div class="player"><video src="/v/1.mp4"></video></div></li>',
        ),
    )
    write(
        news, "/robots.txt", "User-agent: *\nDisallow: /private/\n\nSitemap: {{news}}/sitemap.xml\n"
    )
    routes += [
        '["/rss"]\nstatus = 301\nlocation = "/feed/internasional.rss"\n',
        '["/read/1900/41/server-sedang-bermasalah-1604300100"]\nstatus = 500\nfile = "/about"\n',
        '["/read/1910/41/artikel-dipindahkan-1604300110"]\nstatus = 301\n'
        'location = "/read/1911/41/artikel-dipindahkan-lagi-1604300120"\n',
        f'["/read/1911/41/artikel-dipindahkan-lagi-1604300120"]\nstatus = 302\n'
        f'location = "{PAPUA.path}"\n',
        '["/read/1920/41/tautan-berputar-1604300130"]\nstatus = 302\n'
        'location = "/read/1921/41/tautan-berputar-balik-1604300140"\n',
        '["/read/1921/41/tautan-berputar-balik-1604300140"]\nstatus = 302\n'
        'location = "/read/1920/41/tautan-berputar-1604300130"\n',
        '["/read/1932/41/infografis-peta-konflik-1604300160"]\n'
        'file = "/files/peta.png"\ncontent_type = "image/png"\n',
    ]
    write(news, "/_routes.toml", "\n".join(routes))

    id_stories = [s for s in NEWS_STORIES if s.language == "id" and s is not SEED_STORY]
    feed_items: list[tuple[str, str, Story | None]] = [
        ("{{news}}" + SEED_STORY.path, SEED_STORY.title, SEED_STORY)
    ]
    feed_items += [
        (
            "{{news}}" + s.path + ("?utm_source=rss&amp;utm_medium=feed" if s is CEASEFIRE else ""),
            s.title,
            s,
        )
        for s in id_stories
    ]
    feed_items += [
        ("{{news}}/read/1930/41/laporan-tahunan-konflik.pdf", "Laporan (PDF)", None),
        ("{{news}}/read/1931/41/peta-konflik.png", "Peta (gambar)", None),
    ]
    write(news, "/feed/internasional.rss", rss(feed_items))
    atom_entries = "".join(
        f'<entry><title>{E(s.title)}</title><link href="{{{{news}}}}{s.path}"/>'
        f"<id>{{{{news}}}}{s.path}</id><published>{s.published_utc}</published>"
        f"<updated>{s.published_utc}</updated><author><name>{E(s.author)}</name></author>"
        "</entry>"
        for s in by_lang["en"]
    )
    write(
        news,
        "/feed/world.atom",
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Warta World</title>'
        "<id>{{news}}/en/</id><updated>2020-11-03T02:00:00Z</updated>"
        f'<link href="{{{{news}}}}/en/"/>{atom_entries}</feed>\n',
    )
    write(
        news,
        "/feed/rusak.rss",
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">'
        "<channel><title>Rusak</title><item><title>Terpotong di tengah<link>{{news}}/read/",
    )
    write(news, "/sitemap-rusak.xml", "<html><body><h1>502 Bad Gateway</h1><p>nginx</body>")
    write(news, "/files/laporan.pdf", "")
    (news / "files" / "laporan.pdf").write_bytes(_PDF)
    (news / "files" / "peta.png").write_bytes(_PNG)
    (news / "read" / "1930" / "41").mkdir(parents=True, exist_ok=True)
    (news / "read" / "1930" / "41" / "laporan-tahunan-konflik.pdf").write_bytes(_PDF)
    (news / "read" / "1931" / "41").mkdir(parents=True, exist_ok=True)
    (news / "read" / "1931" / "41" / "peta-konflik.png").write_bytes(_PNG)

    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
        '"http://www.sitemaps.org/schemas/sitemap/0.9">'
    )
    write(
        news,
        "/sitemap.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns='
        '"http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{{news}}/sitemap-news.xml</loc><lastmod>2020-11-03T02:00:00Z</lastmod>"
        "</sitemap><sitemap><loc>{{news}}/sitemap-2020-11.xml.gz</loc>"
        "<lastmod>2020-11-03T02:00:00Z</lastmod></sitemap><sitemap><loc>"
        "{{news}}/sitemap-2015-01.xml</loc><lastmod>2015-01-31T00:00:00Z</lastmod></sitemap>"
        "</sitemapindex>\n",
    )
    news_entries = "".join(
        f"<url><loc>{{{{news}}}}{s.path}</loc><news:news><news:publication>"
        f"<news:name>Warta</news:name><news:language>{s.language}</news:language>"
        f"</news:publication><news:publication_date>{s.published}</news:publication_date>"
        f"<news:title>{E(s.title)}</news:title></news:news></url>"
        for s in (*NEWS_SITEMAP_ONLY, SEED_STORY)
    )
    write(
        news,
        "/sitemap-news.xml",
        urlset.replace('">', '" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">', 1)
        + news_entries
        + "</urlset>\n",
    )
    monthly = "".join(
        f"<url><loc>{{{{news}}}}{s.path}</loc><lastmod>{s.published_utc}</lastmod></url>"
        for s in NEWS_STORIES
        if s not in NEWS_SITEMAP_ONLY
    )
    write(news, "/sitemap-2020-11.xml.gz.src", urlset + monthly + "</urlset>\n")
    write(
        news,
        "/sitemap-2015-01.xml",
        urlset
        + "".join(
            f"<url><loc>{{{{news}}}}{p}</loc><lastmod>2015-01-31</lastmod></url>"
            for p in OLD_SITEMAP_URLS
        )
        + "</urlset>\n",
    )

    write(
        wire,
        "/",
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Kawat'
        '</title></head><body><div class="masthead"><a href="/about">About us</a> '
        '<a href="/contact">Contact</a> <a href="/tag/world">World</a></div><ul>'
        + "".join(_link(s) for s in WIRE_STORIES)
        + "</ul></body></html>",
    )
    write(wire, "/robots.txt", "User-agent: *\nAllow: /\n")
    write(
        wire,
        "/feed.rss",
        rss([("{{wire}}" + s.path, s.title, s) for s in WIRE_STORIES])
        .replace("Warta Internasional", "Kawat")
        .replace("{{news}}/internasional/", "{{wire}}/"),
    )
    write(
        wire,
        "/sitemap.xml",
        urlset
        + "".join(
            f"<url><loc>{{{{wire}}}}{s.path}</loc><lastmod>{s.published_utc}</lastmod></url>"
            for s in WIRE_STORIES
        )
        + "</urlset>\n",
    )
    assert len({s.path for s in STORIES}) == len(STORIES)


# A one-page PDF and a 1x1 PNG: real files of the types sites link to.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360"
    "00000000050001a5f645400000000049454e44ae426082"
)

if __name__ == "__main__":
    build()
    print(f"built {OUT}")

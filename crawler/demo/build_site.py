"""Build the demo news site's files from ``articles.py``: ``python -m crawler.demo.build_site``.

The output (``crawler/demo/pages/``) is committed; run this after changing the stories. Pages
are laid out like a busy Indonesian news portal (menus, share buttons, "Berita Terkait",
"Rekomendasi" and "Berita Terkini" lists, promo boxes, footer) and a plainer wire agency site.
"""

from __future__ import annotations

import shutil
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
from crawler.demo.pages_html import E, link, news_article, rss, section_page, wire_article

OUT = Path(__file__).parent / "pages"


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
            "".join(link(s) for s in (SEED_STORY, by_lang["en"][0], CEASEFIRE))
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
                    link(SEED_STORY),
                    link(CEASEFIRE, "?utm_source=homepage&utm_medium=web&fbclid=abc123"),
                    f'<li><a href="{AMP_PATH}">{E(CEASEFIRE.title)} (AMP)</a></li>',
                    link(next(s for s in NEWS_STORIES if s.extra.get("malformed"))),
                    link(next(s for s in NEWS_STORIES if "content_type" in s.extra)),
                    '<li><a href="/private/read/9999/41/rahasia-negara-bocor-1604280000">Rahasia</a></li>',
                    '<li><a href="/read/1800/41/berita-yang-sudah-dihapus-1604300000">Dihapus</a></li>',
                ]
            ),
        ),
    )
    write(news, "/en/", section_page("World", "".join(link(s) for s in by_lang["en"]), "en"))
    write(news, "/ru/", section_page("Мир", "".join(link(s) for s in by_lang["ru"]), "ru"))
    write(
        news,
        "/berita-lain/",
        section_page(
            "Berita Lain",
            "".join(
                [
                    link(next(s for s in NEWS_STORIES if s.section == "Ekonomi")),
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
        + "".join(link(s) for s in WIRE_STORIES)
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

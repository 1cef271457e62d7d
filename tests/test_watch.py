"""The query language and the matcher: every rule, positive and negative, in five languages."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.watch.evaluation import compile_query
from crawler.watch.flagging import search_words
from crawler.watch.matcher import Matcher, WatchlistQuery, match_query
from crawler.watch.query import QueryError, parse_query
from crawler.watch.results import Highlights
from crawler.watch.snippets import stored_snippets
from crawler.watch.tokens import ArticleText

# (query, language, text, matches?)
CASES = [
    # words, word boundaries, wildcards
    ("war", "en", "The war in the Caucasus resumed.", True),
    ("war", "en", "She received an award for reporting.", False),
    ("Armenia", "en", "Armenians gathered in Yerevan.", False),
    ("Armenia*", "en", "Armenians gathered in Yerevan.", True),
    ("missile*", "en", "Missiles struck the town overnight.", True),
    ("missile*", "en", "A dismissile claim.", False),
    # case, NFKC and dashes
    ('"Nagorno-Karabakh"', "en", "Fighting in NAGORNO-KARABAKH continued.", True),
    ('"Nagorno-Karabakh"', "en", "Fighting in Nagorno Karabakh continued.", True),
    ('"Nagorno-Karabakh"', "en", "Fighting in Nagorno–Karabakh continued.", True),
    ('"Nagorno-Karabakh"', "en", "Fighting in Nagorno—Karabakh continued.", True),
    ('"Nagorno-Karabakh"', "en", "Nagorno is far from Karabakh.", False),
    ("Nagorno-Karabakh", "en", "Fighting in Nagorno Karabakh continued.", True),
    ("ﬁghting", "en", "Fighting continued.", True),  # NFKC: the ﬁ ligature
    # phrases: words in order, as written
    ('"peace talks"', "en", "The peace talks failed.", True),
    ('"peace talks"', "en", "Talks on peace failed.", False),
    ('"kill"', "en", "Two soldiers were killed.", False),
    ("kill", "en", "Two soldiers were killed.", True),
    ("Inli", "en", "Troops moved in at dawn.", False),  # Snowball stems "inli" to "in"
    # boolean operators and precedence
    ("Karabakh AND war", "en", "Karabakh war", True),
    ("Karabakh war", "en", "Karabakh is calm.", False),
    ("Karabakh OR Artsakh", "en", "Artsakh officials said.", True),
    ("Karabakh -football", "en", "Karabakh football club won.", False),
    ("Karabakh NOT football", "en", "Karabakh shelling resumed.", True),
    ("Karabakh OR Artsakh AND war", "en", "Karabakh is calm.", True),  # OR binds loosest
    ("(Karabakh OR Artsakh) AND war", "en", "Karabakh is calm.", False),
    ("NOT football AND Karabakh", "en", "Karabakh shelling.", True),
    # NEAR
    ("Aliyev NEAR/3 Karabakh", "en", "Aliyev spoke about Karabakh.", True),
    ("Karabakh NEAR/3 Aliyev", "en", "Aliyev spoke about Karabakh.", True),
    ("Aliyev NEAR/2 Karabakh", "en", "Aliyev spoke at length about Karabakh.", False),
    ('"Ilham Aliyev" NEAR/4 ceasefire', "en", "Ilham Aliyev rejected the ceasefire.", True),
    # fields
    ("title:Karabakh", "en", "Karabakh in the body only.", False),
    ("title:(Karabakh OR Artsakh) AND war", "en", "war", False),
    # Indonesian inflection
    ("serang", "id", "Desa itu diserang pada malam hari.", True),
    ("serang", "id", "Pasukan menyerang posisi musuh.", True),
    ("serang", "id", "Serangan terjadi pagi ini.", True),
    ("perang", "id", "Azerbaijan akan berperang sampai akhir.", True),
    ("perang", "id", "Peperangan itu berlangsung lama.", True),
    ("perang", "id", "Perangkat lunak baru dirilis.", False),
    ("tempur", "id", "Pertempuran meletus di perbatasan.", True),
    ('"serang"', "id", "Desa itu diserang.", False),
    # Russian: stems and the prefix rule
    ("Азербайджан", "ru", "Президент Азербайджана заявил.", True),
    ("Азербайджан", "ru", "Переговоры с Азербайджаном идут.", True),
    ("Карабах", "ru", "Ситуация в Нагорном Карабахе.", True),
    ('"Нагорный Карабах"', "ru", "Нагорный Карабах объявил.", True),
    ('"Нагорный Карабах"', "ru", "Нагорного Карабаха нет.", False),
    ("Азербайджан", "ru", "Армения заявила.", False),
    ("бой", "ru", "Бои продолжаются.", True),  # a two-letter stem: forms as long, or longer
    ("бой", "ru", "Тяжёлым боем закончился день.", True),
    ("ёлка", "ru", "Елка стояла.", True),
    # Turkish / Azerbaijani: dotted and dotless i, diacritics
    ("İlham", "az", "ILHAM ƏLİYEV danışdı.", True),
    ("ilham", "tr", "İlham Aliyev konuştu.", True),
    ("Dağlıq", "az", "Dagliq Qarabag", True),
    ('"Dağlıq Qarabağ"', "az", "Dağlıq Qarabağ bölgəsi.", True),
    ('"Dağlıq Qarabağ"', "az", "Dagliq Qarabag bolgesi.", False),  # quoted with diacritics
    ("Karabağ", "tr", "Karabağ'da çatışmalar sürüyor.", True),
    ("savaş", "tr", "Savaşın bedeli ağır.", True),
    ("ordu", "tr", "Ordular sınıra ilerledi.", True),
    ("ordu", "tr", "Ora sessizdi.", False),  # "ora" (there) shares only the stem "or"
    # Armenian
    ("Ղարաբաղ", "hy", "Լեռնային Ղարաբաղում մարտեր են ընթանում։", True),
    ('"Լեռնային Ղարաբաղ"', "hy", "ԼԵՌՆԱՅԻՆ ՂԱՐԱԲԱՂ", True),
    ("պատերազմ", "hy", "Հայաստանը խաղաղություն է ուզում։", False),
    # Arabic diacritics
    ("حرب", "ar", "الحَرْب مستمرة", True),
]


@pytest.mark.parametrize(("query", "language", "text", "expected"), CASES)
def test_matching_rules(query: str, language: str, text: str, expected: bool) -> None:
    found = match_query(query, "", text, language)
    assert (found is not None) is expected


def test_title_field_and_where_terms_occurred() -> None:
    found = match_query("title:Karabakh AND war", "Karabakh: the war resumes", "The war.", "en")
    assert found is not None
    terms = {t.term: t for t in found.terms}
    assert terms["Karabakh"].where == ("title",)
    assert terms["war"].where == ("title", "body") and terms["war"].count == 2


def test_snippets_are_about_thirty_words_with_exact_highlights() -> None:
    filler = " ".join(f"kata{i}" for i in range(60))
    body = f"{filler} Pasukan Azerbaijan menembakkan rudal ke Stepanakert. {filler}"
    found = match_query("rudal", "", body, "id")
    assert found is not None
    (snippet,) = found.snippets
    assert len(snippet.text.split()) <= 32
    ((start, end),) = snippet.highlights
    assert snippet.text[start:end] == "rudal"
    assert snippet.text.startswith("…") and snippet.text.endswith("…")


def test_languages_restrict_a_watchlist() -> None:
    matcher = Matcher(
        [WatchlistQuery("ru-only", "Карабах", ("ru",)), WatchlistQuery("any", "Карабах")]
    )
    names = [m.watchlist for m in matcher.match("", "Карабах", "bg")]
    assert names == ["any"]


def test_many_watchlists_evaluate_only_candidates() -> None:
    watchlists = [WatchlistQuery(f"w{i}", f"term{i} AND other{i}") for i in range(1000)]
    watchlists.append(WatchlistQuery("karabakh", "Karabakh AND war"))
    matcher = Matcher(watchlists)
    article = ArticleText("", "The war over Karabakh and term5.", "en")
    candidates = matcher.candidates(article)
    assert 1000 in candidates and candidates <= {5, 1000}
    assert [m.watchlist for m in matcher.match("", "The war over Karabakh and term5.", "en")] == [
        "karabakh"
    ]


def test_counting_by_presence_agrees_with_matching_on_every_rule() -> None:
    """``matching`` (presence checks only, what the web view's trial counts with) names the
    watchlists ``match`` returns, on every case above and with NOT inside an OR."""
    extra = [
        ("Karabakh AND (war OR NOT football)", "en", "Karabakh football tonight.", False),
        ("Karabakh AND (war OR NOT football)", "en", "Karabakh tonight.", True),
    ]
    checked = from_words = 0
    for query, language, text, expected in CASES + extra:
        matcher = Matcher([WatchlistQuery("q", query)])
        full = [m.watchlist for m in matcher.match("Title words", text, language)]
        assert matcher.matching("Title words", text, language) == full, (query, text)
        assert bool(full) is expected, (query, text)
        checked += 1
        # And from the words the search index holds, where the query can be decided by them.
        if matcher.reads_search_words:
            words = search_words("Title words", text)
            assert matcher.matching_search_words(words, language) == full, (query, text)
            from_words += 1
    assert checked == len(CASES) + 2
    assert 40 <= from_words < checked  # phrases, NEAR, fields and exact forms are not


# Watchlists decidable from search words, over words and their forms in four languages.
BY_WORDS = Matcher(
    [
        WatchlistQuery("karabakh", "(Karabakh OR Карабах OR Qarabağ) AND (war OR бой OR savaş*)"),
        WatchlistQuery("serang", "serang AND NOT perang"),
        WatchlistQuery("ordu", "ordu OR Azerbaijan*"),
        WatchlistQuery("kill", '"kill" OR killed'),
        WatchlistQuery("ru", "Азербайджан AND NOT Армения", ("ru",)),
    ]
)
FORMS = (
    "Karabakh Karabakhs Карабахе Карабах Qarabağ'da war wars warring award бой боем Бои savaşın "
    "savaş serang diserang menyerang serangan perang berperang Perangkat ordu ordular ora "
    "Azerbaijani Azerbaijan kill killed killing Азербайджана Азербайджаном Армения the a of"
).split()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(FORMS), max_size=12),
    st.lists(st.sampled_from(FORMS), max_size=4),
    st.sampled_from(["en", "id", "ru", "tr", None]),
)
def test_the_search_words_give_the_matchers_answer(
    body: list[str], title: list[str], language: str | None
) -> None:
    # One matcher across examples: what it remembers of words seen must not change answers.
    assert BY_WORDS.reads_search_words
    title_text, body_text = " ".join(title), " ".join(body)
    expected = [m.watchlist for m in BY_WORDS.match(title_text, body_text, language)]
    words = search_words(title_text, body_text)
    assert BY_WORDS.matching_search_words(words, language) == expected


def test_a_query_decided_from_search_words_sees_the_title_and_the_body() -> None:
    matcher = Matcher([WatchlistQuery("q", "Karabakh AND missile*")])
    assert matcher.reads_search_words
    words = search_words("Karabakh: the day after", "Missiles struck overnight.")
    assert matcher.matching_search_words(words, "en") == ["q"]
    assert matcher.matching_search_words(search_words("Karabakh", "Calm."), "en") == []
    for query in ('"peace talks"', "title:Karabakh", "Aliyev NEAR/3 Karabakh", "Nagorno-Karabakh"):
        assert not Matcher([WatchlistQuery("q", query)]).reads_search_words, query


WATCHLISTS = [
    WatchlistQuery("karabakh", "(Karabakh OR Карабах OR Qarabağ) AND (war OR бой OR savaş*)"),
    WatchlistQuery("serang", "serang AND Azerbaijan"),
    WatchlistQuery("near", "Aliyev NEAR/3 ceasefire"),
    WatchlistQuery("title", "title:Armenia*"),
]
# (title, body, language, watchlists matched)
ARTICLES = [
    ("Karabakh talks", "The war over Karabakh resumed; Aliyev rejected the ceasefire.", "en", 2),
    ("Armenians protest", "Crowds in Yerevan. Aliyev spoke.", "en", 1),
    ("", "Бои в Карабахе продолжаются. Тяжёлым боем закончился день.", "ru", 1),
    ("", "Qarabağ'da savaşın bedeli ağır. Ora sessizdi.", "tr", 1),
    ("", "Desa di perbatasan Azerbaijan diserang pada malam hari.", "id", 1),
    ("", "Nothing here at all, in any way.", "en", 0),
]


def test_words_remembered_across_articles_change_no_match() -> None:
    """The matcher remembers the words that can be no form of its terms' words: a matcher that
    has seen many articles finds exactly what a fresh one finds, and an article tokenised once
    can be matched by two matchers."""
    warm = Matcher(WATCHLISTS)
    for title, body, language, count in ARTICLES * 3:
        expected = Matcher(WATCHLISTS).match(title, body, language)
        assert len(expected) == count
        assert warm.match(title, body, language) == expected
    other = Matcher(WATCHLISTS[:1])
    for title, body, language, _ in ARTICLES:
        article = ArticleText(title, body, language)
        assert other.match_article(article) == Matcher(WATCHLISTS[:1]).match(title, body, language)
        assert warm.match_article(article) == Matcher(WATCHLISTS).match(title, body, language)


@pytest.mark.parametrize(
    ("query", "position", "problem"),
    [
        ("", 1, "empty"),
        ("(Karabakh OR war", 1, "never closed"),
        ("Karabakh) OR war", 9, "no matching ("),
        ('"Nagorno-Karabakh OR war', 1, "quote is never closed"),
        ("Aliyev NEAR Karabakh", 8, "NEAR needs a distance"),
        ("Aliyev NEAR/x Karabakh", 8, "NEAR needs a distance"),
        ("Karabakh AND", 13, "ends where a term"),
        ("AND Karabakh", 1, "needs a term"),
        ("()", 1, "empty"),
        ("missile* *", 10, "wildcard needs letters"),
        ("NOT football", 1, "none of its terms"),
        ("Karabakh OR -football", 1, "none of its terms"),
    ],
)
def test_invalid_queries_name_the_position(query: str, position: int, problem: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    assert caught.value.position == position
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"position {position}: ")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab "()-*:/NEARORTitle \u0131\u0130ç')), max_size=40))
def test_parser_never_crashes(query: str) -> None:
    # Any input either parses or raises QueryError: never another exception.
    with contextlib.suppress(QueryError):
        parse_query(query)


WORDS = st.sampled_from(
    [
        "Karabakh",
        "Nagorno",
        "perang",
        "rudal",
        "Азербайджан",
        "Dağlıq",
        "war",
        "İlham",
        "Ղարաբաղ",
        "missile",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(WORDS, min_size=1, max_size=6),
    st.integers(0, 2**16),
    st.sampled_from(["-", "–", "—", " "]),
)
def test_matching_is_invariant_to_case_and_dashes(words: list[str], seed: int, dash: str) -> None:
    query = '"' + " ".join(words) + '"'
    flipped = "".join(
        c.swapcase() if (seed >> (i % 16)) & 1 else c for i, c in enumerate(dash.join(words))
    )
    text = f"Before. {flipped} after."
    plain = match_query(query, "", f"Before. {' '.join(words)} after.", "en")
    varied = match_query(query, "", text, "en")
    assert plain is not None
    assert varied is not None


def test_a_word_is_highlighted_where_a_longer_phrase_starting_there_does_not_fit() -> None:
    # "war" at the window's last word also starts "war over", which would run past the window:
    # the word is highlighted, as any hit inside the window.
    body = "war " + " ".join(f"x{i}" for i in range(28)) + " war over"
    found = match_query('war OR "war over"', "", body, "en")
    assert found is not None
    first = found.snippets[0]
    assert [first.text[a:b] for a, b in first.highlights] == ["war", "war"]


def test_a_stored_matchs_snippets_are_cut_from_its_text_as_the_match_cut_them() -> None:
    # What is stored of a match is where its hits are; the snippets shown later are cut from
    # the article's text there, and are the ones the match itself cuts.
    filler = " ".join(f"kata{i}" for i in range(40))
    body = (
        f"{filler} Pasukan menembakkan rudal ke Nagorno-Karabakh. {filler} Dua warga tewas di "
        f"Nagorno Karabakh. {filler} Rudal kedua jatuh di Stepanakert. {filler}"
    )
    found = match_query('"Nagorno-Karabakh" OR Karabakh OR rudal OR tewas', "Judul", body, "id")
    assert found is not None and len(found.snippets) == 3
    stored = json.loads(json.dumps(found.highlights.as_dict()))
    assert Highlights.from_dict(stored) == found.highlights
    expected = [s.as_dict() for s in found.snippets]
    assert stored_snippets("Judul", body, stored) == expected
    assert stored_snippets("Judul", body, stored, limit=1) == expected[:1]
    # Hits that do not fit the text (another text than the one matched, or a bad record) give
    # no snippet rather than wrong highlights, and raise nothing.
    shorter = body[: body.index("Dua warga")]
    assert stored_snippets("Judul", shorter, stored) == []
    assert stored_snippets("Judul", "Pasukan menembakkan rudal.", stored) == []
    unsized = {k: v for k, v in stored.items() if k != "words"}
    assert stored_snippets("Judul", body, unsized) == expected
    assert stored_snippets("Judul", shorter, unsized) == []
    text = "one two three four five"
    for bad in (
        {"field": "body", "starts": [3], "widths": [[3, [4]]]},  # a phrase past the end
        {"field": "body", "starts": [-1]},
        {"field": "body", "starts": [1], "widths": [[1, []]]},
        {"field": "body", "starts": [1], "widths": [[1, [0]]]},
        {"field": "footer", "starts": [1]},
        {"starts": "x"},
        {"field": "body", "starts": None},
    ):
        assert stored_snippets(None, text, bad) == [], bad
    assert stored_snippets(None, text, {"field": "body", "starts": [4]})[0]["highlights"] == [
        [19, 23]
    ]


def test_the_terms_of_a_branch_that_does_not_match_are_not_the_matchs() -> None:
    # "Karabakh AND ceasefire" fails (no ceasefire): the match is "war"'s alone.
    found = match_query("(Karabakh AND ceasefire) OR war", "", "Karabakh: the war goes on.", "en")
    assert found is not None
    assert [t.term for t in found.terms] == ["war"]
    found = match_query("(Karabakh AND war) OR ceasefire", "", "Karabakh: the war goes on.", "en")
    assert found is not None
    assert [t.term for t in found.terms] == ["Karabakh", "war"]
    assert match_query("(Karabakh AND ceasefire) OR truce", "", "Karabakh war", "en") is None

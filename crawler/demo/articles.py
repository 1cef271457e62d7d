"""The stories of the demo news site. ``build_site.py`` lays them out as pages, feeds and
sitemaps; the tests read the same data as their expectations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SEED = Path(__file__).parent / "seed.txt"


@dataclass(frozen=True)
class Story:
    host: str  # "news" or "wire"
    path: str
    title: str
    language: str
    published: str  # as the page's article:published_time says it
    published_utc: str  # what that means in UTC
    paragraphs: tuple[str, ...]
    author: str = "Tim Redaksi"
    section: str = "Internasional"
    caption: str = ""
    tags: tuple[str, ...] = ()
    # Inline "read also" links, inserted after paragraph N: (N, label, linked headline)
    read_also: tuple[tuple[int, str, str], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


def _seed_paragraphs() -> tuple[str, ...]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("BAKU - "))
    end = next(i for i, line in enumerate(lines) if line.startswith("Presiden Rusia Vladimir"))
    out = []
    for line in lines[start : end + 1]:
        line = line.strip()
        if not line:
            continue
        # The seed shows the inline links as a naive scrape saw them; the page carries them as
        # links inside the paragraph (see read_also below).
        for marker in (" (Baca: ", " (Baca juga: "):
            if marker in line:
                line = line.split(marker)[0]
        out.append(line)
    return tuple(out)


SEED_STORY = Story(
    host="news",
    path="/read/221330/41/azerbaijan-bersumpah-berperang-sampai-akhir-demi-nagorno-karabakh-1604282760",
    title="Azerbaijan Bersumpah Berperang sampai Akhir demi Nagorno-Karabakh",
    language="id",
    published="2020-11-02T09:06:00",  # no zone on the page: Asia/Jakarta (WIB) is meant
    published_utc="2020-11-02T02:06:00Z",
    paragraphs=_seed_paragraphs(),
    author="Berlianto Sitompul",
    caption="Presiden Azerbaijan Ilham Aliyev. Foto/Website Presiden Azerbaijan/Handout via REUTERS",
    tags=("Azerbaijan", "Armenia", "Nagorno-Karabakh"),
    read_also=(
        (1, "Baca", "Azerbaijan Hancurkan Dua Sistem Rudal Armenia"),
        (3, "Baca", "Azerbaijan Tuduh Armenia Berencana Pakai Amunisi Fosfor"),
        (7, "Baca juga", "Beredar Video Pasukan Azerbaijan Eksekusi Tentara Armenia"),
    ),
)

CEASEFIRE = Story(
    host="news",
    path="/read/221120/41/armenia-dan-azerbaijan-saling-tuduh-langgar-gencatan-senjata-1604120400",
    title="Armenia dan Azerbaijan Saling Tuduh Langgar Gencatan Senjata Kemanusiaan",
    language="id",
    published="2020-10-31T12:00:00+07:00",
    published_utc="2020-10-31T05:00:00Z",
    author="Muhaimin Hasan",
    caption="Asap membubung di atas Stepanakert. Foto/AFP",
    tags=("Armenia", "Azerbaijan", "Gencatan Senjata"),
    paragraphs=(
        "YEREVAN - Armenia dan Azerbaijan kembali saling menuduh telah melanggar gencatan "
        "senjata kemanusiaan yang baru disepakati di Nagorno-Karabakh, hanya beberapa jam "
        "setelah kesepakatan itu mulai berlaku pada Senin pagi.",
        "Kementerian Pertahanan Armenia mengatakan pasukan Azerbaijan melancarkan serangan "
        "artileri ke arah permukiman di sektor utara garis depan. Baku membantah tuduhan itu "
        "dan menyebut pasukan etnis Armenia lebih dulu menembakkan rudal ke wilayah Terter.",
        "Pertempuran sengit dilaporkan terjadi di sekitar kota Hadrut dan di sepanjang sungai "
        "Araks, tempat pasukan Azerbaijan mengklaim telah merebut sejumlah desa dalam sepekan "
        "terakhir.",
        "Komite Internasional Palang Merah menyerukan kedua pihak untuk menghormati hukum "
        "humaniter internasional dan melindungi warga sipil, yang menjadi korban terbanyak "
        "dalam konflik terbaru ini.",
        "Gencatan senjata kemanusiaan tersebut merupakan upaya ketiga dalam sebulan terakhir. "
        "Dua kesepakatan sebelumnya, yang ditengahi Rusia dan Prancis, runtuh dalam hitungan "
        "jam setelah diumumkan.",
        "Kelompok Minsk dari Organisasi untuk Keamanan dan Kerja Sama di Eropa (OSCE) "
        "dijadwalkan bertemu kembali dengan para menteri luar negeri kedua negara di Jenewa "
        "pekan depan untuk membahas mekanisme pemantauan gencatan senjata.",
    ),
)

BANK = Story(
    host="news",
    path="/read/221200/34/bank-indonesia-pertahankan-suku-bunga-acuan-di-level-4-persen-1604200000",
    title="Bank Indonesia Pertahankan Suku Bunga Acuan di Level 4 Persen",
    language="id",
    published="2020-11-01T10:15:00+07:00",
    published_utc="2020-11-01T03:15:00Z",
    section="Ekonomi",
    author="Hafid Fuad",
    caption="Gedung Bank Indonesia di Jakarta. Foto/Dok",
    tags=("Bank Indonesia", "Suku Bunga"),
    paragraphs=(
        "JAKARTA - Bank Indonesia (BI) memutuskan untuk mempertahankan suku bunga acuan BI "
        "7-Day Reverse Repo Rate di level 4 persen dalam Rapat Dewan Gubernur yang berakhir "
        "pada Kamis sore.",
        "Gubernur Bank Indonesia Perry Warjiyo mengatakan keputusan tersebut sejalan dengan "
        "perkiraan inflasi yang tetap rendah serta upaya menjaga stabilitas nilai tukar rupiah "
        "di tengah ketidakpastian pasar keuangan global.",
        "Menurut Perry, bank sentral akan terus mengoptimalkan seluruh instrumen kebijakan, "
        "termasuk pembelian Surat Berharga Negara di pasar perdana, untuk mendukung pemulihan "
        "ekonomi nasional dari dampak pandemi.",
        "Sejumlah ekonom menilai ruang penurunan suku bunga masih terbuka hingga akhir tahun, "
        "namun BI cenderung menunggu kepastian arah kebijakan moneter Amerika Serikat setelah "
        "pemilihan presiden bulan ini.",
        "Rupiah ditutup menguat tipis di level 14.650 per dolar AS pada perdagangan sore, "
        "sementara Indeks Harga Saham Gabungan naik 0,8 persen didorong saham perbankan.",
    ),
)

PAPUA = Story(
    host="news",
    path="/read/221250/15/pembangunan-jalan-trans-papua-dikebut-jelang-akhir-tahun-1604230000",
    title="Pembangunan Jalan Trans Papua Dikebut Jelang Akhir Tahun",
    language="id",
    published="2020-11-01T15:40:00+07:00",
    published_utc="2020-11-01T08:40:00Z",
    section="Nasional",
    author="Ihya Ulumuddin",
    tags=("Papua", "Infrastruktur"),
    paragraphs=(
        "JAYAPURA - Kementerian Pekerjaan Umum dan Perumahan Rakyat mempercepat penyelesaian "
        "ruas jalan Trans Papua yang menghubungkan Wamena dan Mamugu sebelum musim hujan "
        "mencapai puncaknya pada Desember.",
        "Kepala Balai Pelaksanaan Jalan Nasional Papua mengatakan sekitar 190 kilometer ruas "
        "jalan kini sudah dapat dilalui kendaraan roda empat, meskipun sebagian besar masih "
        "berupa jalan tanah yang diperkeras.",
        "Pemerintah daerah berharap jalan tersebut dapat menurunkan harga bahan pokok di "
        "wilayah pegunungan tengah, yang selama ini bergantung pada angkutan udara dengan "
        "biaya sangat mahal.",
        "Warga Distrik Nduga menyambut baik pembangunan tersebut, tetapi meminta pemerintah "
        "memperhatikan ganti rugi lahan adat yang dilalui proyek serta melibatkan tenaga kerja "
        "lokal.",
    ),
)

MISSILES = Story(
    host="news",
    path="/en/read/5501/world/missile-strikes-hit-stepanakert-as-fighting-enters-sixth-week-1604300000",
    title="Missile Strikes Hit Stepanakert as Fighting Enters Sixth Week",
    language="en",
    published="2020-11-02T14:30:00+07:00",
    published_utc="2020-11-02T07:30:00Z",
    section="World",
    author="Andrew Roth",
    caption="Smoke rises over Stepanakert after shelling. Photo/Reuters",
    tags=("Nagorno-Karabakh", "Armenia", "Azerbaijan"),
    paragraphs=(
        "STEPANAKERT - Missile strikes hit the main city of Nagorno-Karabakh early on Monday "
        "as fighting between Azerbaijani forces and ethnic Armenian troops entered its sixth "
        "week, officials in the region said.",
        "Air raid sirens sounded across Stepanakert shortly after dawn, and residents who had "
        "spent the night in basements reported at least four powerful explosions near the "
        "city's central market.",
        "Local authorities said two civilians were killed and eleven wounded in the strikes. "
        "Azerbaijan's defence ministry denied targeting civilians and said its forces had "
        "struck military positions used to shell Azerbaijani towns.",
        "The fighting, the worst since a war in the early 1990s that left the mountain enclave "
        "under ethnic Armenian control, has killed hundreds of soldiers on both sides, "
        "according to figures released by the two governments.",
        "Three ceasefire agreements brokered by Russia, France and the United States have "
        "collapsed within hours of taking effect, with each side accusing the other of "
        "breaking the truce first.",
        "Humanitarian groups warned that thousands of people displaced by the shelling face "
        "a harsh winter without adequate shelter, and called for safe corridors to deliver "
        "food and medicine to the region.",
        "Diplomats from the OSCE Minsk Group were expected to meet the foreign ministers of "
        "Armenia and Azerbaijan in Geneva later this week, although officials on both sides "
        "played down hopes of a breakthrough.",
    ),
)

AWARD = Story(
    host="news",
    path="/en/read/5502/world/armenian-film-wins-top-award-at-european-festival-1604310000",
    title="Armenian Film Wins Top Award at European Festival",
    language="en",
    published="2020-11-02T18:00:00+07:00",
    published_utc="2020-11-02T11:00:00Z",
    section="Culture",
    author="Maria Petrosyan",
    tags=("Film", "Culture"),
    paragraphs=(
        "BERLIN - A drama about three generations of a family in Gyumri won the top award at "
        "a European film festival on Sunday, a first for a director from Armenia.",
        "Armenians in the diaspora celebrated the news online, and the director dedicated the "
        "prize to the people of his home town, which was devastated by an earthquake in 1988.",
        "The jury praised the film's restraint and its long, quiet takes of daily life, and "
        "said it had found in one family a portrait of a whole country's memory.",
        "The film will open in cinemas across Europe next spring, its distributor said, with "
        "a streaming release planned for the following autumn.",
    ),
)

CP1252 = Story(
    host="news",
    path="/en/read/5503/world/spanish-aid-convoy-reaches-border-town-1604320000",
    title="Spanish Aid Convoy Reaches Border Town",
    language="en",
    published="2020-11-03T09:00:00+07:00",
    published_utc="2020-11-03T02:00:00Z",
    section="World",
    author="José Muñoz",
    tags=("Aid",),
    paragraphs=(
        "GORIS - A convoy of medical supplies organised by the Spanish charity “Médicos del "
        "Mundo” reached the border town of Goris on Tuesday, aid workers said.",
        "“We brought surgical kits, blankets and winter clothing for about 3,000 people,” "
        "said the convoy’s coordinator, Iñaki Peña, adding that more trucks would follow.",
        "Local officials said the town’s hospital had been treating wounded civilians from "
        "the conflict zone for weeks and was running short of antibiotics and blood supplies.",
        "The charity said it was also in contact with the Azerbaijani Red Crescent about "
        "delivering aid to displaced families on the other side of the front line.",
    ),
)

RUSSIAN = Story(
    host="news",
    path="/ru/read/7701/mir/azerbaidzhan-zayavil-o-kontrole-nad-novymi-selami-1604290000",
    title="Азербайджан заявил о контроле над новыми селами в Карабахе",
    language="ru",
    published="2020-11-02T11:20:00+03:00",
    published_utc="2020-11-02T08:20:00Z",
    section="Мир",
    author="Анна Смирнова",
    tags=("Нагорный Карабах", "Азербайджан"),
    paragraphs=(
        "БАКУ - Президент Азербайджана Ильхам Алиев заявил, что вооруженные силы страны "
        "установили контроль еще над несколькими селами в Нагорном Карабахе.",
        "По словам Алиева, переговоры с Арменией возможны только при условии вывода "
        "армянских войск с территорий вокруг Нагорного Карабаха.",
        "Министерство обороны Армении назвало эти заявления ложными и сообщило, что "
        "подразделения Армии обороны Карабаха отразили несколько атак на южном направлении.",
        "Власти непризнанной республики сообщили, что в результате обстрела Степанакерта "
        "погибли двое мирных жителей. Баку отверг обвинения в ударах по гражданским объектам.",
        "Россия призвала стороны соблюдать режим прекращения огня, согласованный в Москве, и "
        "вернуться к переговорам в рамках Минской группы ОБСЕ.",
    ),
)

RUSSIAN_1251 = Story(
    host="news",
    path="/ru/read/7702/mir/peregovory-v-moskve-zavershilis-bez-rezultata-1604295000",
    title="Переговоры в Москве завершились без результата",
    language="ru",
    published="2020-11-01T20:00:00+03:00",
    published_utc="2020-11-01T17:00:00Z",
    section="Мир",
    author="Игорь Волков",
    tags=("Переговоры",),
    extra={"encoding": "windows-1251"},
    paragraphs=(
        "МОСКВА - Консультации министров иностранных дел Армении и Азербайджана в Москве "
        "завершились поздно вечером без подписания совместного заявления.",
        "Источник в МИД России сообщил, что стороны обсуждали механизм наблюдения за "
        "прекращением огня и обмен телами погибших военнослужащих.",
        "Следующая встреча может состояться на следующей неделе в Женеве при участии "
        "сопредседателей Минской группы.",
    ),
)

AZERBAIJANI = Story(
    host="news",
    path="/az/read/8801/dunya/ilham-eliyev-xalqa-muraciet-etdi-1604305000",
    title="İlham Əliyev xalqa müraciət etdi",
    language="az",
    published="2020-11-02T21:00:00+04:00",
    published_utc="2020-11-02T17:00:00Z",
    section="Dünya",
    author="Rəşad Hüseynov",
    tags=("Dağlıq Qarabağ",),
    paragraphs=(
        "BAKI - Prezident İlham Əliyev xalqa müraciət edərək Azərbaycan Ordusunun Dağlıq "
        "Qarabağda yeni yaşayış məntəqələrini işğaldan azad etdiyini bildirib.",
        "Dövlət başçısı bildirib ki, müharibə ərazi bütövlüyü tam bərpa olunana qədər davam "
        "edəcək, lakin Azərbaycan danışıqlar masasından imtina etmir.",
        "Müdafiə Nazirliyinin məlumatına görə, gecə ərzində cəbhə xəttində şiddətli döyüşlər "
        "gedib və düşmənin bir neçə hücumu dəf edilib.",
    ),
)

ARMENIAN = Story(
    host="news",
    path="/hy/read/9901/ashkharh/lernayin-gharabaghum-martere-sharunakvum-en-1604306000",
    title="Լեռնային Ղարաբաղում մարտերը շարունակվում են",
    language="hy",
    published="2020-11-02T22:00:00+04:00",
    published_utc="2020-11-02T18:00:00Z",
    section="Աշխարհ",
    author="Արմեն Սարգսյան",
    tags=("Արցախ",),
    paragraphs=(
        "ԵՐԵՎԱՆ - Լեռնային Ղարաբաղում մարտերը շարունակվում են ամբողջ առաջնագծի երկայնքով, "
        "հայտնում է Պաշտպանության նախարարությունը։",
        "Ստեփանակերտը գիշերը կրկին ենթարկվել է հրթիռակոծության, խաղաղ բնակիչները "
        "ապաստանել են նկուղներում։",
        "Արցախի իշխանությունները կոչ են արել միջազգային հանրությանը դատապարտել "
        "քաղաքացիական բնակավայրերի դեմ հարձակումները։",
    ),
)

MALFORMED = Story(
    host="news",
    path="/read/221400/41/pbb-serukan-akses-bantuan-kemanusiaan-ke-zona-konflik-1604310000",
    title="PBB Serukan Akses Bantuan Kemanusiaan ke Zona Konflik",
    language="id",
    published="2020-11-02T16:45:00+07:00",
    published_utc="2020-11-02T09:45:00Z",
    author="Muhaimin Hasan",
    tags=("PBB", "Bantuan"),
    extra={"malformed": "yes"},
    paragraphs=(
        "NEW YORK - Sekretaris Jenderal PBB Antonio Guterres menyerukan akses tanpa hambatan "
        "bagi bantuan kemanusiaan ke wilayah yang terdampak pertempuran di Kaukasus Selatan.",
        "Guterres mengatakan puluhan ribu warga sipil telah mengungsi dan membutuhkan tempat "
        "tinggal, makanan, serta layanan kesehatan menjelang musim dingin.",
        "Badan pengungsi PBB menyatakan siap mengirimkan bantuan darurat begitu jaminan "
        "keamanan diberikan oleh semua pihak yang bertikai.",
    ),
)

NO_CHARSET = Story(
    host="news",
    path="/read/221410/41/relawan-medis-indonesia-tiba-di-perbatasan-1604312000",
    title="Relawan Medis Indonesia Tiba di Perbatasan",
    language="id",
    published="2020-11-02T19:30:00+07:00",
    published_utc="2020-11-02T12:30:00Z",
    author="Ihya Ulumuddin",
    tags=("Relawan",),
    extra={"content_type": "text/html"},
    paragraphs=(
        "JAKARTA - Tim relawan medis dari sebuah lembaga kemanusiaan Indonesia tiba di kota "
        "perbatasan untuk membantu penanganan korban luka.",
        "Ketua tim mengatakan para relawan membawa obat-obatan, peralatan bedah, dan "
        "perlengkapan musim dingin untuk keluarga pengungsi.",
        "Menurut dia, kebutuhan paling mendesak saat ini adalah tenaga dokter bedah dan "
        "pasokan darah untuk rumah sakit setempat yang kewalahan.",
    ),
)

WIRE_COPY = Story(
    host="wire",
    path="/story/bank-indonesia-holds-benchmark-rate-at-four-percent",
    title=BANK.title,
    language="id",
    published="2020-11-01T03:30:00Z",
    published_utc="2020-11-01T03:30:00Z",
    section="Business",
    author="Hafid Fuad",
    paragraphs=BANK.paragraphs,
)

WIRE_NEAR = Story(
    host="wire",
    path="/story/shelling-of-stepanakert-intensifies-as-war-enters-sixth-week",
    title="Shelling of Stepanakert Intensifies as War Enters Sixth Week",
    language="en",
    published="2020-11-02T08:10:00Z",
    published_utc="2020-11-02T08:10:00Z",
    section="World",
    author="Wire Staff",
    paragraphs=(
        "STEPANAKERT - Missiles struck the main city of Nagorno-Karabakh early on Monday as "
        "fighting between Azerbaijani forces and ethnic Armenian troops entered its sixth "
        "week, officials in the region said.",
        MISSILES.paragraphs[1],
        MISSILES.paragraphs[2],
        MISSILES.paragraphs[3],
        MISSILES.paragraphs[4],
        MISSILES.paragraphs[6] + " A spokesman for the group declined to comment on the agenda.",
    ),
)

WIRE_UN = Story(
    host="wire",
    path="/story/un-envoy-calls-for-humanitarian-corridor-in-the-south-caucasus",
    title="UN Envoy Calls for Humanitarian Corridor in the South Caucasus",
    language="en",
    published="2020-11-02T15:00:00Z",
    published_utc="2020-11-02T15:00:00Z",
    section="World",
    author="Wire Staff",
    paragraphs=(
        "GENEVA - The United Nations' humanitarian coordinator on Monday called for a "
        "corridor to let aid reach civilians trapped by fighting in the South Caucasus.",
        "Aid agencies say tens of thousands of people have fled their homes since late "
        "September, many of them women, children and elderly people.",
        "The envoy said the UN was ready to deploy teams within days if both governments "
        "guaranteed the safety of humanitarian workers and convoys.",
        "The International Committee of the Red Cross said it had helped exchange the bodies "
        "of soldiers killed in the fighting and was seeking access to prisoners of war.",
    ),
)

WIRE_OIL = Story(
    host="wire",
    path="/story/oil-prices-steady-as-markets-await-us-election-result",
    title="Oil Prices Steady as Markets Await US Election Result",
    language="en",
    published="2020-11-03T01:00:00Z",
    published_utc="2020-11-03T01:00:00Z",
    section="Markets",
    author="Wire Staff",
    paragraphs=(
        "SINGAPORE - Oil prices held steady in Asian trade on Tuesday as investors awaited "
        "the outcome of the US presidential election and weighed the impact of new lockdowns "
        "in Europe on fuel demand.",
        "Brent crude futures were little changed at 39 dollars a barrel, while US West Texas "
        "Intermediate crude edged up 0.3 percent.",
        "Analysts said a clear election result could reduce uncertainty in financial "
        "markets, but warned that rising coronavirus cases would keep weighing on demand.",
    ),
)

NEWS_STORIES = (
    SEED_STORY,
    CEASEFIRE,
    BANK,
    PAPUA,
    MISSILES,
    AWARD,
    CP1252,
    RUSSIAN,
    RUSSIAN_1251,
    AZERBAIJANI,
    ARMENIAN,
    MALFORMED,
    NO_CHARSET,
)
WIRE_STORIES = (WIRE_COPY, WIRE_NEAR, WIRE_UN, WIRE_OIL)
STORIES = NEWS_STORIES + WIRE_STORIES

AMP_PATH = "/amp" + CEASEFIRE.path
# Only listed in the Google News sitemap.
NEWS_SITEMAP_ONLY = (RUSSIAN, AZERBAIJANI, ARMENIAN)
OLD_SITEMAP_URLS = (
    "/read/100/41/berita-lama-satu-1422700000",
    "/read/101/41/berita-lama-dua-1422700100",
)

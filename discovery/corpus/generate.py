#!/usr/bin/env python3
"""Writes the CSV sniffing corpus: discovery/corpus/files/* and discovery/corpus/truth.json.

Deterministic (each file has its own seeded random.Random), standard library only.
Every file is checked after writing: its bytes are decoded with the truth encoding, the
preamble is cut off and the rest is parsed with Python's csv module using the truth
dialect; the parse must give back exactly the rows that were written. Column types are
checked too (a declared type must be the narrowest one all non-empty values fit).

Usage: python3 discovery/corpus/generate.py
"""
import csv
import datetime as dt
import gzip
import io
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "files"
SEED = 20240301

# --------------------------------------------------------------------------- value pools

FIRST = ["Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas",
         "Karen", "Liam", "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara",
         "Uma", "Victor", "Wendy", "Xavier", "Yara", "Zoe"]
LAST = ["Smith", "Meyer", "Garcia", "Rossi", "Novak", "Jensen", "Brown", "Lopez", "Fischer",
        "Martin", "Kowalski", "Silva", "Dubois", "Berg", "Walsh", "Moreau"]
CITIES = ["Berlin", "Paris", "Madrid", "Rome", "Vienna", "Oslo", "Dublin", "Lisbon",
          "Prague", "Warsaw", "Amsterdam", "Brussels", "Zurich", "Helsinki", "New York",
          "Chicago", "Toronto", "Sydney"]
PRODUCTS = ["Desk lamp", "Office chair", "Notebook A5", "USB cable", "Coffee mug",
            "Monitor stand", "Keyboard", "Wireless mouse", "Water bottle", "Backpack",
            "Paper clips", "Stapler", "Whiteboard", "Headphones"]
STATUS = ["new", "paid", "shipped", "cancelled", "returned"]

# Legacy-encoding text: every value below must be encodable in its encoding.
CP1252_NAMES = ["Zoë Müller", "François Lefèvre", "Jürgen Groß", "Œdipe Martin",
                "Renée Dubois", "Søren Kierkegård", "Ångström AB", "Björn Ölund", "Inés Núñez",
                "José Peña", "Hélène Côté", "Günther Köhler", "Žaneta Kraus", "Ludwig Schäfer",
                "Mónica Ibáñez", "Cécile Février", "Jörg Weiß", "Agnès Mercier", "Frédéric Thérèse",
                "Loïc Le Bœuf", "Pierre Séguin", "Ana Patrício", "Stéphane Leroux", "Dörte Jäger"]
CP1252_PRODUCTS = ["Café “Crème” 250 g", "Thé vert – bio", "Crêpes…", "Brötchen ‘Frisch’",
                   "Bière blonde", "Käse™", "Gâteau • Schoko", "Pâté – Campagne",
                   "Glühwein „Original“", "Croissant — beurre", "Œufs frais ×6", "Špecialität"]
CP1252_CITIES = ["Köln", "München", "Düsseldorf", "Zürich", "Genève", "Besançon", "Orléans",
                 "Nürnberg", "Saarbrücken", "Montréal", "Québec", "Málaga", "Göteborg"]

LATIN1_NAMES = ["José Álvarez", "María Núñez", "Søren Møller", "Åsa Ångström", "Jürgen Müller",
                "Françoise Lébé", "Björn Ólafsson", "Ægir Þórsson", "Inés Peña", "João Conceição",
                "Hélène Dupré", "Þóra Jónsdóttir", "Ørjan Kvalø", "Cédric Noël", "Maël Gaël",
                "Raúl Ibáñez", "Ana Muñoz", "Günter Weiß", "Éloïse Crépin", "Tomás Gómez"]
LATIN1_CITIES = ["São Paulo", "Málaga", "Córdoba", "Reykjavík", "Tromsø", "Århus", "Göteborg",
                 "Zürich", "Besançon", "Cádiz", "León", "Düsseldorf", "Liège",
                 "Jönköping", "Valparaíso", "Bogotá", "Mérida", "Ålesund"]

CP1251_NAMES = ["Иван Петров", "Мария Иванова", "Алексей Смирнов", "Ольга Кузнецова",
                "Дмитрий Попов", "Елена Соколова", "Сергей Лебедев", "Анна Козлова",
                "Николай Новиков", "Татьяна Морозова", "Павел Волков", "Наталья Павлова",
                "Юрий Семёнов", "Ирина Голубева", "Владимир Виноградов", "Светлана Богданова",
                "Андрей Воробьёв", "Екатерина Фёдорова", "Михаил Михайлов", "Людмила Беляева"]
CP1251_CITIES = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань",
                 "Нижний Новгород", "Самара", "Омск", "Ростов-на-Дону", "Уфа", "Красноярск",
                 "Воронеж", "Пермь", "Волгоград"]
CP1251_PRODUCTS = ["Чай чёрный", "Кофе молотый", "Сахар", "Мука пшеничная", "Гречка", "Масло сливочное",
                   "Молоко", "Хлеб ржаной", "Сыр российский", "Колбаса докторская"]

CP1250_NAMES = ["Paweł Wiśniewski", "Łukasz Żółkiewski", "Agnieszka Woźniak", "Małgorzata Dąbrowska",
                "Jiří Dvořák", "Petr Novák", "Šárka Černá", "Tomáš Procházka", "Zoltán Kovács",
                "Erzsébet Szűcs", "Ľubomír Šťastný", "Zuzana Hrušková", "Grzegorz Ślęzak",
                "Katarzyna Kamińska", "Bożena Źródłowska", "Ondřej Kučera", "Gábor Tőkés",
                "Miroslav Žák", "Dorota Łęcka", "Vojtěch Říha"]
CP1250_CITIES = ["Łódź", "Wrocław", "Gdańsk", "Kraków", "Poznań", "Plzeň", "České Budějovice",
                 "Brno", "Győr", "Pécs", "Košice", "Žilina", "Bielsko-Biała", "Ústí nad Labem",
                 "Szczecin", "Debrecen", "Ostrava", "Nitra"]

SJIS_NAMES = ["山田太郎", "佐藤花子", "鈴木一郎", "高橋美咲", "田中健太", "伊藤さくら", "渡辺翔",
              "山本由美", "中村大輔", "小林直子", "加藤拓也", "吉田愛", "山口誠", "松本恵",
              "井上隆", "木村優子", "林和也", "清水真理", "山崎浩二", "森あゆみ"]
SJIS_CITIES = ["東京", "大阪", "名古屋", "札幌", "福岡", "横浜", "神戸", "京都", "仙台", "広島",
               "那覇", "金沢"]
SJIS_PRODUCTS = ["緑茶", "醤油", "味噌", "ラーメン", "せんべい", "日本酒", "梅干し", "のり",
                 "カレールー", "抹茶アイス", "うどん", "豆腐"]

GBK_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞",
             "徐强", "孙丽", "马超", "朱琳", "胡军", "郭涛", "林燕", "何平", "高峰", "罗欣"]
GBK_CITIES = ["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆",
              "天津", "苏州"]
GBK_PRODUCTS = ["绿茶", "月饼", "酱油", "大米", "花生油", "红枣", "饺子", "茶叶蛋", "豆浆机",
                "电饭煲", "保温杯", "毛笔"]

# --------------------------------------------------------------------------- type checking

RE_INT = re.compile(r"^[+-]?\d+$")
RE_DEC = re.compile(r"^[+-]?(\d+[.,]\d+|\d{1,3}(,\d{3})+(\.\d+)?|\d{1,3}(\.\d{3})+(,\d+)?)$")
RE_BOOL = re.compile(r"^(true|false|yes|no)$", re.I)
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y"]
RE_TS = [re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"),
         re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?$")]


def is_date(v):
    for f in DATE_FORMATS:
        try:
            dt.datetime.strptime(v, f)
            if re.fullmatch(r"[\d./-]+", v):
                return True
        except ValueError:
            pass
    return False


def fits(v, t):
    if t == "integer":
        return bool(RE_INT.match(v))
    if t == "decimal":
        return bool(RE_INT.match(v) or RE_DEC.match(v))
    if t == "boolean":
        return bool(RE_BOOL.match(v))
    if t == "date":
        return is_date(v)
    if t == "timestamp":
        return any(r.match(v) for r in RE_TS)
    return True


def narrowest(values):
    vals = [v.strip() for v in values if v.strip() != ""]
    if not vals:
        return "any"
    for t in ["integer", "decimal", "boolean", "date", "timestamp"]:
        if all(fits(v, t) for v in vals):
            return t
    return "string"


# --------------------------------------------------------------------------- writing

CODECS = {"UTF-8": "utf-8", "UTF-16LE": "utf-16-le", "UTF-16BE": "utf-16-be",
          "windows-1252": "cp1252", "ISO-8859-1": "latin-1", "windows-1251": "cp1251",
          "windows-1250": "cp1250", "Shift_JIS": "shift_jis", "GBK": "gbk", "GB18030": "gb18030"}
BOMS = {"UTF-8": b"\xef\xbb\xbf", "UTF-16LE": b"\xff\xfe", "UTF-16BE": b"\xfe\xff"}

TRUTH = []


def render_field(v, delim, quote, escape, quoting, flags):
    if quoting == "none":
        assert delim not in v and "\n" not in v and "\r" not in v, v
        if v and v[0] in "\"'":
            flags["literal_quote"] = True
        return v
    need = quoting == "all" or delim in v or quote in v or "\n" in v or "\r" in v \
        or (v != v.strip()) or (escape and "\\" in v)
    if not need:
        return v
    flags["quoted"] = True
    if escape:
        if quote in v:
            flags["escaped"] = True
        v = v.replace("\\", "\\\\").replace(quote, "\\" + quote)
    else:
        if quote in v:
            flags["doubled"] = True
        v = v.replace(quote, quote + quote)
    return quote + v + quote


def emit(name, header, rows, types, *, delimiter=",", quote='"', escape=None, quoting="minimal",
         record_delimiter="\n", encoding="UTF-8", bom=False, preamble=(), compression=None,
         final_newline=True, notes="", truth_delimiter=None, truth_types=None, check_types=True, extra_truth=None):
    """header: list of names or None (no header). rows: list of lists of str."""
    flags = {}
    lines = list(preamble)
    all_rows = ([header] if header is not None else []) + rows
    for r in all_rows:
        lines.append(delimiter.join(render_field(v, delimiter, quote, escape, quoting, flags)
                                    for v in r))
    text = record_delimiter.join(lines) + (record_delimiter if final_newline else "")
    data = text.encode(CODECS[encoding])
    if bom:
        data = BOMS[encoding] + data
    raw = data
    if compression == "gzip":
        data = gzip.compress(data, compresslevel=9, mtime=0)
    OUT.joinpath(name).write_bytes(data)

    # ---- truth
    if flags.get("quoted"):
        tq = quote
    elif flags.get("literal_quote"):
        tq = None
    else:
        tq = "any"
    if escape:
        assert flags.get("escaped"), f"{name}: backslash escaping never used"
        tesc = "\\"
    else:
        tesc = None
    lengths = Counter(len(r) for r in rows) if rows else Counter([len(header)])
    field_count = len(header) if header is not None else lengths.most_common(1)[0][0]
    ncols = field_count
    if truth_types is None:
        truth_types = types
    if check_types and rows:
        for i, t in enumerate(types):
            col = [r[i] for r in rows if i < len(r)]
            got = narrowest(col)
            assert got == t, f"{name}: column {i} declared {t}, data says {got}"
    if truth_types != "any":
        assert len(truth_types) == ncols, (name, len(truth_types), ncols)
    pre = len(preamble)
    truth = {
        "file": name,
        "encoding": encoding,
        "bom": bool(bom),
        "compression": compression,
        "record_delimiter": record_delimiter,
        # "none": one column, no delimiter (a delimiter that leaves one field also scores)
        "delimiter": None if truth_delimiter == "none" else
        truth_delimiter if truth_delimiter is not None else delimiter,
        "quote": tq,
        "escape": tesc,
        "header_row": pre + 1 if header is not None else 0,
        "preamble_lines": pre,
        "field_count": field_count,
        "column_names": [h.strip() for h in header] if header is not None else None,
        "types": truth_types,
        "notes": notes,
    }
    truth.update(extra_truth or {})
    # ---- self-check: decode + parse with the truth dialect gives back the rows
    if encoding.startswith("UTF") and bom:
        raw = raw[len(BOMS[encoding]):]
    dec = raw.decode(CODECS[encoding])
    if encoding not in ("UTF-8", "UTF-16LE", "UTF-16BE"):
        nonascii = sum(1 for ch in dec if ord(ch) > 127)
        assert nonascii >= 60, f"{name}: only {nonascii} non-ASCII chars"
        try:
            raw.decode("utf-8")
            raise AssertionError(f"{name}: legacy file is valid UTF-8")
        except UnicodeDecodeError:
            pass
    body = dec
    for _ in range(pre):
        idx = body.index(record_delimiter)
        body = body[idx + len(record_delimiter):]
    kw = {"delimiter": delimiter, "lineterminator": record_delimiter, "strict": True}
    if tq in (None, "any") and quoting == "none":
        kw["quoting"] = csv.QUOTE_NONE
    else:
        kw["quotechar"] = quote
        if escape:
            kw["escapechar"] = escape
            kw["doublequote"] = False
    if record_delimiter in ("\n", "\r\n", "\r"):
        parsed = [r for r in csv.reader(io.StringIO(body, newline=""), **kw)]
    else:  # a control character ends records: no record holds one, so split first
        recs = body.split(record_delimiter)
        if recs and recs[-1] == "":
            recs.pop()
        parsed = [next(csv.reader([rec], **kw), [""]) for rec in recs]
    assert parsed == all_rows, f"{name}: round trip differs\n{parsed[:3]}\n{all_rows[:3]}"
    if name.endswith(".gz"):
        pass
    elif name not in BIG:
        assert len(data) <= 8192, f"{name}: {len(data)} bytes"
    TRUTH.append(truth)


BIG = {"wide_300_columns.csv", "hundred_k_rows.csv.gz"}


# --------------------------------------------------------------------------- helpers


def R(name):
    return random.Random(f"{SEED}:{name}")


def rdate(r, start=dt.date(2023, 1, 1), days=700):
    return start + dt.timedelta(days=r.randrange(days))


def rdec(r, lo=1, hi=500, nd=2):
    return f"{r.uniform(lo, hi):.{nd}f}"


def person(r):
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def basic_rows(r, n=15):
    rows = []
    for i in range(1, n + 1):
        rows.append([str(i), person(r), r.choice(CITIES), rdec(r), rdate(r).isoformat()])
    return rows


BASIC_HDR = ["id", "name", "city", "amount", "order_date"]
BASIC_T = ["integer", "string", "string", "decimal", "date"]


def ensure_day_gt_12(r, n):
    ds = [rdate(r) for _ in range(n)]
    if not any(d.day > 12 for d in ds):
        ds[0] = ds[0].replace(day=25)
    ds[1] = ds[1].replace(day=5)
    return ds


# --------------------------------------------------------------------------- the corpus


def delimiter_files():
    for fname, d, note in [
        ("comma_basic.csv", ",", "plain comma, LF, no quoting needed"),
        ("tab_basic.tsv", "\t", "tab delimited"),
        ("pipe_basic.txt", "|", "pipe delimited"),
        ("colon_delim.txt", ":", "colon delimited (no times in the data)"),
        ("caret_delim.txt", "^", "caret delimited"),
        ("tilde_delim.txt", "~", "tilde delimited"),
        ("hash_delim.txt", "#", "hash delimited (also a common comment character)"),
        ("section_sign_delim.csv", "§", "multi-byte delimiter U+00A7 (2 bytes in UTF-8)"),
        ("broken_bar_delim.csv", "¦", "multi-byte delimiter U+00A6 (2 bytes in UTF-8)"),
    ]:
        r = R(fname)
        emit(fname, BASIC_HDR, basic_rows(r), BASIC_T, delimiter=d, notes=note)


def quote_files():
    r = R("quoted")
    rows = []
    notes_pool = ['said "hello", then left', "line one\nline two", "plain", 'a "quoted" word',
                  "Smith, John", "multi\nline\naddress", "comma, and \"quote\""]
    for i in range(1, 16):
        rows.append([str(i), r.choice(LAST) + ", " + r.choice(FIRST), r.choice(notes_pool),
                     rdec(r), rdate(r).isoformat()])
    emit("quoted_delims_newlines.csv", ["id", "customer", "comment", "amount", "created"], rows,
         ["integer", "string", "string", "decimal", "date"],
         notes="double quotes; fields with the delimiter, doubled quotes and quoted newlines")

    r = R("single")
    rows = []
    for i in range(1, 16):
        nm = r.choice(["O'Brien, Pat", "D'Angelo, Rosa", "Smith, Anna", "Meyer, Ben", "L'Oréal SA"])
        rows.append([str(i), nm, r.choice(CITIES), rdec(r)])
    emit("single_quote.csv", ["id", "name", "city", "amount"], rows,
         ["integer", "string", "string", "decimal"], quote="'",
         notes="single-quote quoting with doubled '' inside")

    r = R("backslash")
    rows = []
    for i in range(1, 16):
        q = r.choice(['He said "no"', 'size 5" screen', "plain text",
                      'the "best", really', "ok"])
        rows.append([str(i), q, r.choice(PRODUCTS), rdec(r)])
    rows[0][1] = 'He said "no"'
    emit("backslash_escape.csv", ["id", "quote", "product", "price"], rows,
         ["integer", "string", "string", "decimal"], escape="\\",
         notes='backslash-escaped quotes (\\") inside double-quoted fields')

    r = R("paths")
    rows = []
    paths = ["C:\\Users\\anna\\report.docx", "C:\\temp\\", "D:\\data\\in\\", "\\\\server\\share\\x.csv",
             'C:\\Docs\\the "final" one.txt', "E:\\backup\\2024\\"]
    for i in range(1, 16):
        rows.append([str(i), r.choice(paths), rdec(r, 1, 900, 1)])
    rows[0][1] = 'C:\\Docs\\the "final" one.txt'
    rows[1][1] = "C:\\temp\\, old"
    emit("windows_paths_doubled.csv", ["id", "path", "size_kb"], rows,
         ["integer", "string", "decimal"],
         notes='backslashes in data (some right before a closing quote) but "" escaping: escape must be null')

    r = R("literal")
    rows = []
    for i in range(1, 16):
        t = r.choice(['"Best" seller', '12" pizza', "'Tis the season", "plain title", '"Quoted" start'])
        rows.append([str(i), t, r.choice(CITIES), rdec(r)])
    rows[0][1] = '"Best" seller'
    rows[2][1] = "\"Hello,\" she said"
    emit("tab_no_quoting_literal_quotes.tsv", ["id", "title", "city", "score"], rows,
         ["integer", "string", "string", "decimal"], delimiter="\t", quoting="none",
         notes="no quoting at all: fields start with literal quote characters (quote must be null)")

    r = R("semiquoted")
    rows = []
    for i in range(1, 16):
        rows.append([str(i), r.choice(PRODUCTS) + r.choice(["", "; 2 pcs", "; refurbished"]),
                     r.choice(["", "Gate 3;\nring twice", "leave at door", 'say "hi"']),
                     rdec(r).replace(".", ",")])
    rows[0][1] = "Keyboard; DE layout"
    rows[1][2] = "Gate 3;\nring twice"
    emit("semicolon_quoted_fields.csv", ["id", "article", "delivery_note", "price"], rows,
         ["integer", "string", "string", "decimal"], delimiter=";", record_delimiter="\r\n",
         notes="; with quoted fields holding ';', quotes and LF, CRLF records, comma decimals")

    r = R("quoteall")
    rows = [[str(i), person(r), r.choice(CITIES), rdec(r), rdate(r).isoformat()] for i in range(1, 16)]
    emit("quote_all.csv", BASIC_HDR, rows, BASIC_T, quoting="all",
         notes="every field quoted, numbers too (types as if unquoted)")


def encoding_files():
    # UTF-8 multilingual
    r = R("utf8")
    pool = ["Zoë", "Łukasz", "Jiří", "Ἀθηνᾶ", "Москва", "東京", "北京", "São Paulo", "Þór", "😀 emoji"]
    rows = [[str(i), r.choice(pool) + " " + r.choice(LAST), r.choice(pool), rdec(r)] for i in range(1, 21)]
    emit("utf8_multilingual.csv", ["id", "name", "place", "amount"], rows,
         ["integer", "string", "string", "decimal"], notes="UTF-8 without BOM, many scripts")

    r = R("utf8bom")
    rows = [[str(i), r.choice(CP1252_NAMES), r.choice(CP1252_CITIES), rdec(r).replace(".", ",")]
            for i in range(1, 21)]
    emit("utf8_bom_semicolon.csv", ["id", "name", "city", "price"], rows,
         ["integer", "string", "string", "decimal"], delimiter=";", record_delimiter="\r\n",
         bom=True, notes="UTF-8 with BOM (Excel 'CSV UTF-8'), ; and comma decimals, CRLF")

    for fname, enc, bom, d, rec, note in [
        ("utf16le_bom.txt", "UTF-16LE", True, "\t", "\r\n", "UTF-16LE with BOM, tab (Excel 'Unicode text')"),
        ("utf16be_bom.csv", "UTF-16BE", True, ",", "\n", "UTF-16BE with BOM"),
        ("utf16le_nobom.csv", "UTF-16LE", False, ",", "\n", "UTF-16LE without BOM"),
    ]:
        r = R(fname)
        rows = [[str(i), r.choice(LATIN1_NAMES), r.choice(LATIN1_CITIES), rdec(r),
                 rdate(r).isoformat()] for i in range(1, 21)]
        emit(fname, ["id", "name", "city", "amount", "date"], rows,
             ["integer", "string", "string", "decimal", "date"], delimiter=d, record_delimiter=rec,
             encoding=enc, bom=bom, notes=note)

    r = R("cp1252")
    rows = []
    for i in range(1, 31):
        rows.append([str(i), r.choice(CP1252_NAMES), r.choice(CP1252_CITIES), r.choice(CP1252_PRODUCTS),
                     rdec(r).replace(".", ","), rdate(r).strftime("%d.%m.%Y")])
    emit("windows1252_orders.csv", ["Nr", "Kunde", "Stadt", "Artikel", "Preis €", "Datum"], rows,
         ["integer", "string", "string", "string", "decimal", "date"], delimiter=";",
         record_delimiter="\r\n", encoding="windows-1252",
         notes="windows-1252 (€, curly quotes, dashes, Œ), ; comma decimals, dd.mm.yyyy, CRLF")

    r = R("latin1")
    rows = [[str(i), r.choice(LATIN1_NAMES), r.choice(LATIN1_CITIES), rdec(r), r.choice(["sí", "não", "ja", "nej"])]
            for i in range(1, 31)]
    emit("latin1_customers.csv", ["id", "nombre", "ciudad", "saldo", "respuesta"], rows,
         ["integer", "string", "string", "decimal", "string"], encoding="ISO-8859-1",
         notes="ISO-8859-1 text only in A0-FF (no 0x80-0x9F bytes)")

    for fname, enc, names, cities, products, hdr, d, note in [
        ("windows1251_cyrillic.csv", "windows-1251", CP1251_NAMES, CP1251_CITIES, CP1251_PRODUCTS,
         ["id", "ФИО", "Город", "Товар", "Сумма", "Дата"], ";", "Russian text in windows-1251"),
        ("windows1250_central_eu.csv", "windows-1250", CP1250_NAMES, CP1250_CITIES, CP1250_NAMES,
         ["id", "Jméno", "Město", "Kontakt", "Částka", "Datum"], ";",
         "Polish/Czech/Hungarian text in windows-1250 (uses ś ź š ž, not in ISO-8859-2 at same codes)"),
        ("shift_jis_japanese.csv", "Shift_JIS", SJIS_NAMES, SJIS_CITIES, SJIS_PRODUCTS,
         ["番号", "氏名", "都市", "商品", "金額", "日付"], ",", "Japanese text in Shift_JIS"),
        ("gbk_chinese.csv", "GBK", GBK_NAMES, GBK_CITIES, GBK_PRODUCTS,
         ["编号", "姓名", "城市", "商品", "金额", "日期"], ",", "Chinese text in GBK"),
    ]:
        r = R(fname)
        rows = []
        for i in range(1, 31):
            amt = rdec(r)
            if d == ";":
                amt = amt.replace(".", ",")
            dfmt = "%d.%m.%Y" if enc in ("windows-1251", "windows-1250") else "%Y-%m-%d"
            rows.append([str(i), r.choice(names), r.choice(cities), r.choice(products), amt,
                         rdate(r).strftime(dfmt)])
        emit(fname, hdr, rows, ["integer", "string", "string", "string", "decimal", "date"],
             delimiter=d, record_delimiter="\r\n", encoding=enc, notes=note)


def record_delimiter_files():
    r = R("cr")
    emit("cr_old_mac.csv", BASIC_HDR, basic_rows(r), BASIC_T, record_delimiter="\r",
         notes="CR-only record delimiter (classic Mac OS)")
    r = R("crlf")
    rows = basic_rows(r)
    rows[3][1] = "two\nlines"
    rows[7][2] = "Lisbon, PT"
    emit("crlf_embedded_lf.csv", BASIC_HDR, rows, BASIC_T, record_delimiter="\r\n",
         notes="CRLF records with a quoted LF inside a field (Excel style)")
    r = R("nofinal")
    emit("no_final_newline.csv", BASIC_HDR, basic_rows(r), BASIC_T, final_newline=False,
         notes="LF, last record not terminated")


def preamble_files():
    r = R("pre_title")
    emit("preamble_title_blank.csv", BASIC_HDR, basic_rows(r), BASIC_T,
         preamble=["Quarterly orders report", ""], notes="title line + blank line before the header")
    r = R("pre_export")
    rows = [[str(i), person(r), r.choice(STATUS), rdec(r).replace(".", ","), rdate(r).strftime("%d.%m.%Y")]
            for i in range(1, 16)]
    emit("preamble_export_info.csv", ["id", "customer", "status", "total", "date"], rows,
         ["integer", "string", "string", "decimal", "date"], delimiter=";", record_delimiter="\r\n",
         preamble=["Export generated by ShopAdmin 4.2", "Exported at: 2024-04-02 10:15",
                   "Filter: region = EU", ""],
         notes="4 preamble lines (export info with ':' and '=' and a blank line)")
    r = R("pre_padded")
    emit("preamble_excel_padded.csv", BASIC_HDR, basic_rows(r), BASIC_T,
         preamble=["Sales by customer,,,,", "Period: March 2024,,,,"],
         notes="Excel-style preamble lines padded with delimiters")
    r = R("sep")
    rows = [[str(i), person(r), rdec(r).replace(".", ","), rdate(r).isoformat()] for i in range(1, 16)]
    emit("excel_sep_hint.csv", ["id", "name", "price", "date"], rows,
         ["integer", "string", "decimal", "date"], delimiter=";", record_delimiter="\r\n",
         preamble=["sep=;"], notes="Excel 'sep=;' hint line counts as a 1-line preamble")


def header_files():
    r = R("nohdr_num")
    rows = [[str(i), rdec(r, -50, 50, 3), rdec(r, 0, 1, 4), str(r.randint(-500, 500))] for i in range(1, 21)]
    emit("no_header_numeric.csv", None, rows, ["integer", "decimal", "decimal", "integer"],
         notes="no header, all numeric")
    r = R("nohdr_mixed")
    rows = [[str(100 + i), person(r), r.choice(CITIES), rdate(r).isoformat(), rdec(r)] for i in range(1, 21)]
    emit("no_header_mixed.csv", None, rows, ["integer", "string", "string", "date", "decimal"],
         delimiter="|", notes="no header, pipe, first row looks like the others")
    r = R("nohdr_strings")
    rows = [[r.choice(FIRST), r.choice(LAST), r.choice(CITIES), r.choice(STATUS)] for _ in range(20)]
    emit("no_header_all_strings.csv", None, rows, ["string"] * 4,
         notes="no header, only text columns (a header-vs-data guess is hard)")
    r = R("years")
    rows = [[rdec(r, 100, 9999, 2) for _ in range(4)] for _ in range(15)]
    emit("numeric_header_years.csv", ["2019", "2020", "2021", "2022"], rows, ["decimal"] * 4,
         notes="header is all years (numbers) over decimal data")
    r = R("sensor")
    base = dt.datetime(2024, 3, 1, 0, 0, 0)
    rows = []
    for i in range(15):
        ts = (base + dt.timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append([ts] + [rdec(r, -10, 35, 1) for _ in range(4)])
    emit("numeric_header_sensor_ids.csv", ["timestamp", "101", "102", "103", "104"], rows,
         ["timestamp"] + ["decimal"] * 4, notes="numeric sensor ids as column names")
    r = R("blank")
    rows = [[str(i), person(r), r.choice(CITIES), rdec(r)] for i in range(0, 15)]
    emit("header_blank_names.csv", ["", "name", "", "amount"], rows,
         ["integer", "string", "string", "decimal"], notes="blank header names (pandas index style)")
    r = R("dup")
    rows = [[str(i), person(r), rdec(r), rdec(r), r.choice(CITIES)] for i in range(1, 16)]
    emit("header_duplicate_names.csv", ["id", "name", "value", "value", "name"], rows,
         ["integer", "string", "decimal", "decimal", "string"], notes="duplicate header names")
    r = R("padded")
    rows = [[str(i), person(r), rdec(r), rdate(r).isoformat()] for i in range(1, 16)]
    emit("header_padded_names.csv", [" id ", " name ", "amount ", " date"], rows,
         ["integer", "string", "decimal", "date"],
         notes="header names padded with spaces (quoted); truth names are trimmed")


def type_files():
    r = R("semicolon_comma_decimal")
    rows = [[str(i), person(r), rdec(r).replace(".", ","), rdate(r).isoformat()] for i in range(1, 21)]
    emit("semicolon_comma_decimal.csv", ["id", "name", "price", "placed_on"], rows,
         ["integer", "string", "decimal", "date"], delimiter=";", record_delimiter="\r\n",
         notes="comma decimals with ; delimiter")
    r = R("thousands")
    rows = []
    for i in range(1, 16):
        v = r.uniform(100, 2_000_000)
        rows.append([str(i), r.choice(PRODUCTS), f"{v:,.2f}", str(r.randint(1, 50))])
    emit("thousands_quoted.csv", ["id", "product", "revenue", "units"], rows,
         ["integer", "string", "decimal", "integer"],
         notes='thousands separators inside quoted fields ("1,234.50") = decimal')
    r = R("bools")
    rows = [[str(i), r.choice(["true", "false"]), r.choice(["yes", "no"]), r.choice(["TRUE", "FALSE"]),
             r.choice(["Yes", "No", ""])] for i in range(1, 21)]
    emit("booleans.csv", ["id", "active", "subscribed", "verified", "consent"], rows,
         ["integer", "boolean", "boolean", "boolean", "boolean"],
         notes="true/false, yes/no, TRUE/FALSE, Yes/No with empties")
    r = R("dates")
    n = 20
    iso = [rdate(r) for _ in range(n)]
    dmy = ensure_day_gt_12(r, n)
    mdy = ensure_day_gt_12(r, n)
    dot = [rdate(r) for _ in range(n)]
    rows = [[str(i + 1), iso[i].isoformat(), dmy[i].strftime("%d/%m/%Y"), mdy[i].strftime("%m/%d/%Y"),
             dot[i].strftime("%d.%m.%Y")] for i in range(n)]
    emit("date_formats.csv", ["id", "iso", "day_first", "month_first", "dotted"], rows,
         ["integer", "date", "date", "date", "date"],
         notes="ISO, dd/mm/yyyy (some day>12), mm/dd/yyyy (some day>12), dd.mm.yyyy")
    r = R("ts")
    rows = []
    for i in range(1, 21):
        t = dt.datetime(2024, 1, 1) + dt.timedelta(seconds=r.randrange(3600 * 24 * 300))
        off = r.choice(["+02:00", "-05:00", "+00:00", "+05:30"])
        rows.append([str(i), t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.strftime("%Y-%m-%dT%H:%M:%S") + off,
                     t.strftime("%Y-%m-%d %H:%M:%S") + f".{r.randrange(1000):03d}"])
    emit("timestamps.csv", ["id", "utc", "with_offset", "local_fraction"], rows,
         ["integer", "timestamp", "timestamp", "timestamp"],
         notes="ISO timestamps: T+Z, T+offset, space+fractional seconds")
    r = R("ints")
    rows = []
    for i in range(1, 21):
        rows.append([str(i), str(r.randint(-1000, 1000)), r.choice(["", str(r.randint(0, 99))]),
                     r.choice(["", rdec(r, -100, 100)]), r.choice(["", person(r)])])
    rows[0][2] = ""
    emit("integers_negatives_empty.csv", ["id", "delta", "maybe_count", "maybe_amount", "maybe_name"],
         rows, ["integer", "integer", "integer", "decimal", "string"],
         notes="negative integers, empty values (ignored for typing)")
    r = R("mixed")
    rows = []
    for i in range(1, 21):
        rows.append([str(i), str(r.randint(1, 999)), rdate(r).isoformat(), rdec(r), r.choice(["true", "false"]),
                     str(r.randint(10000, 99999))])
    rows[13][1] = "approx. 40"
    rows[17][2] = "unknown"
    rows[5][3] = "12.5 kg"
    rows[9][4] = "maybe"
    rows[4][5] = "A1234"
    emit("mixed_columns_string.csv", ["id", "qty", "ship_date", "weight", "flag", "code"], rows,
         ["integer", "string", "string", "string", "string", "string"],
         notes="each column but id has one non-conforming value late in the file => string")


def structure_files():
    r = R("ragged")
    rows = basic_rows(r, 20)
    rows[4] = rows[4][:3]
    rows[9] = rows[9] + ["extra"]
    rows[14] = rows[14][:4]
    emit("ragged_rows.csv", BASIC_HDR, rows, BASIC_T, notes="3 of 20 rows have fewer or more fields",
         check_types=False)
    r = R("single")
    rows = [[r.choice(CITIES)] for _ in range(20)]
    emit("single_column.txt", ["city"], rows, ["string"], truth_delimiter="any",
         notes="one column; delimiter unscored")
    emit("header_only.csv", ["id", "name", "email", "created_at"], [], [],
         truth_types="any", check_types=False, notes="only a header row, no data")
    r = R("wide")
    ncol = 300
    kinds = [("integer", lambda: str(r.randint(0, 9999))), ("decimal", lambda: rdec(r, 0, 100)),
             ("string", lambda: r.choice(CITIES)), ("date", lambda: rdate(r).isoformat()),
             ("boolean", lambda: r.choice(["true", "false"]))]
    cols = [kinds[i % len(kinds)] for i in range(ncol)]
    hdr = [f"c{i:03d}_{k[0][:3]}" for i, k in enumerate(cols)]
    rows = [[k[1]() for k in cols] for _ in range(5)]
    emit("wide_300_columns.csv", hdr, rows, [k[0] for k in cols], notes="300 columns, 5 rows")
    # 100,000 rows, gzip only
    r = R("hundred_k")
    rows = []
    t0 = dt.datetime(2024, 1, 1)
    for i in range(1, 100_001):
        t = t0 + dt.timedelta(seconds=i * 17 + r.randrange(17))
        rows.append([str(i), t.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{r.randrange(100000) / 100:.2f}",
                     str(r.randrange(1, 20)), STATUS[r.randrange(5)], "true" if r.random() < 0.7 else "false"])
    emit("hundred_k_rows.csv.gz", ["id", "created_at", "amount", "quantity", "status", "active"], rows,
         ["integer", "timestamp", "decimal", "integer", "string", "boolean"], compression="gzip",
         notes="100,000 rows, gzip-compressed")
    r = R("smallgz")
    rows = [[str(i), person(r), rdec(r).replace(".", ","), rdate(r).isoformat()] for i in range(1, 31)]
    emit("small_semicolon.csv.gz", ["id", "name", "price", "date"], rows,
         ["integer", "string", "decimal", "date"], delimiter=";", compression="gzip",
         notes="small gzip file, ; and comma decimals")


# --------------------------------------------------------------------------- families found
# outside the project (issue 14): one column, aligned text tables, control-character
# delimiters, trailing fields omitted, GB18030 four-byte text


DOMAINS = ["example.com", "mail.example.co.uk", "example.org", "corp.example.net", "example.de"]


def single_column_files():
    r = R("sc_emails")
    rows = []
    for i in range(25):
        f, l = r.choice(FIRST).lower(), r.choice(LAST).lower()
        local = r.choice([f"{f}.{l}", f"{f}{r.randint(1, 99)}", f"{f[0]}.{l}", f"{f}+news"])
        rows.append([f"{local}@{r.choice(DOMAINS)}"])
    emit("single_column_emails.txt", ["email"], rows, ["string"], truth_delimiter="none",
         notes="a list of e-mail addresses: '.' and '@' are inside the values, not delimiters")
    r = R("sc_decimals")
    rows = [[f"{r.uniform(-500, 500):.3f}"] for _ in range(30)]
    emit("single_column_decimals_noheader.txt", None, rows, ["decimal"], truth_delimiter="none",
         notes="decimal numbers one per line, no header: '.' is the decimal point")
    r = R("sc_prices")
    rows = [[f"{r.uniform(1, 9000):,.2f}"] for _ in range(25)]
    emit("single_column_prices_thousands.csv", ["price"], rows, ["decimal"],
         record_delimiter="\r\n", truth_delimiter="none",
         notes="one price column as Excel saves it: values with thousands separators quoted")
    r = R("sc_addr")
    streets = ["Main St", "Oak Avenue", "Elm Road", "Park Lane", "High Street", "Cedar Blvd"]
    towns = [("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"), ("Madison", "WI"),
             ("Salem", "MA"), ("Boulder", "CO")]
    rows = []
    for _ in range(20):
        t, st = r.choice(towns)
        rows.append([f"{r.randint(1, 999)} {r.choice(streets)}, {t}, {st} {r.randint(10000, 99999)}"])
    emit("single_column_quoted_addresses.csv", ["address"], rows, ["string"], truth_delimiter="none",
         notes="one column of quoted postal addresses with commas inside")
    r = R("sc_dates")
    rows = [[rdate(r).isoformat()] for _ in range(30)]
    emit("single_column_dates.txt", ["day"], rows, ["date"], truth_delimiter="none",
         notes="ISO dates one per line: '-' splits every row into three integers")
    r = R("sc_urls")
    rows = []
    for _ in range(20):
        rows.append([f"https://shop.{r.choice(DOMAINS)}/p/{r.randint(100, 9999)}?ref=mail&utm={r.choice(STATUS)}"])
    emit("single_column_urls.txt", ["url"], rows, ["string"], truth_delimiter="none",
         notes="URLs with paths and query strings: '/', ':', '?', '&', '=' inside the values")
    r = R("sc_uuids")
    rows = [["%08x-%04x-4%03x-%04x-%012x" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(12),
                                               0x8000 | r.getrandbits(14), r.getrandbits(48))] for _ in range(25)]
    emit("single_column_uuids.txt", ["customer_id"], rows, ["string"], truth_delimiter="none",
         notes="UUIDs one per line: '-' splits every row into five hex groups")
    r = R("sc_ipv4")
    rows = [[f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"] for _ in range(30)]
    emit("single_column_ipv4_noheader.txt", None, rows, ["string"], truth_delimiter="none",
         notes="IPv4 addresses one per line, no header (an allow-list export)")


def emit_aligned(name, header, rows, types, *, align, gap, notes, encoding="UTF-8"):
    """A table padded with spaces as command-line tools print them: `align` per column
    ('l' or 'r'), at least `gap` spaces between columns, trailing spaces trimmed."""
    widths = [max(len(x[i]) for x in [header] + rows) for i in range(len(header))]
    offsets, at = [], 0
    for w in widths:
        offsets.append(at)
        at += w + gap
    lines = []
    for row in [header] + rows:
        cells = [v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(row, widths, align)]
        lines.append((" " * gap).join(cells).rstrip())
    text = "\n".join(lines) + "\n"
    data = text.encode(CODECS[encoding])
    OUT.joinpath(name).write_bytes(data)
    for i, t in enumerate(types):
        got = narrowest([x[i] for x in rows])
        assert got == t, f"{name}: column {i} declared {t}, data says {got}"
    # self-check: cutting each line at the offsets gives back the cells
    for line, row in zip(lines, [header] + rows):
        cut = [line[o:(offsets[k + 1] if k + 1 < len(offsets) else None)].strip()
               for k, o in enumerate(offsets)]
        assert cut == row, (name, cut, row)
    TRUTH.append({
        "file": name, "encoding": encoding, "bom": False, "compression": None,
        "record_delimiter": "\n", "delimiter": " ", "quote": None, "escape": None,
        "header_row": 1, "preamble_lines": 0, "field_count": len(header),
        "column_names": header, "types": types, "column_offsets": offsets, "notes": notes,
    })


def aligned_files():
    r = R("al_kubectl")
    rows = []
    for i in range(18):
        app = r.choice(["web", "api", "worker", "redis", "postgres", "ingest"])
        suffix = "".join(r.choice("abcdefghjkmnpqrstvwxz2456789") for _ in range(5))
        ready = r.choice(["1/1", "1/1", "2/2", "0/1"])
        status = "Running" if ready != "0/1" else r.choice(["CrashLoopBackOff", "Pending"])
        age = r.choice([f"{r.randint(1, 59)}m", f"{r.randint(1, 23)}h", f"{r.randint(1, 40)}d"])
        rows.append([f"{app}-7d9f8c6b5-{suffix}", ready, status, str(r.randint(0, 12)), age])
    emit_aligned("aligned_kubectl_pods.txt", ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows,
                 ["string", "string", "string", "integer", "string"], align="lllll", gap=3,
                 notes="kubectl get pods: columns padded with spaces, 3 at least")
    r = R("al_docker")
    rows = []
    for i in range(12):
        cid = "".join(r.choice("0123456789abcdef") for _ in range(12))
        image, cmd = r.choice([("nginx:1.27", '"/docker-entrypoint.…"'), ("postgres:16", '"docker-entrypoint.s…"'),
                               ("redis:7", '"redis-server --save…"'), ("grafana/grafana", '"/run.sh"')])
        n = r.randint(2, 50)
        created = f"{n} {r.choice(['minutes', 'hours', 'days'])} ago"
        status = r.choice([f"Up {r.randint(2, 50)} hours", f"Exited (0) {r.randint(2, 9)} days ago", "Up 3 minutes"])
        ports = r.choice(["0.0.0.0:8080->80/tcp", "5432/tcp", "", "6379/tcp"])
        rows.append([cid, image, cmd, created, status, ports, f"{image.split(':')[0].split('/')[-1]}_{i}"])
    emit_aligned("aligned_docker_ps.txt", ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
                 rows, ["string"] * 7, align="lllllll", gap=3,
                 notes="docker ps: names and values with single spaces inside, literal quotes, an empty column value")
    r = R("al_fixed")
    rows = []
    for i in range(20):
        rows.append([str(10000 + r.randint(0, 89999)), person(r), r.choice(CITIES), f"{r.uniform(-900, 99999):.2f}",
                     rdate(r).isoformat()])
    emit_aligned("aligned_fixed_width_customers.txt", ["CUST_NO", "NAME", "CITY", "BALANCE", "OPENED"], rows,
                 ["integer", "string", "string", "decimal", "date"], align="lllrl", gap=1,
                 notes="fixed-width export: one space between columns, names with spaces, right-aligned amounts")
    r = R("al_df")
    mounts = ["/", "/boot/efi", "/home", "/var/lib/docker", "/run", "/dev/shm", "/srv/data", "/run/user/1000",
              "/mnt/backup", "/tmp"]
    rows = []
    for i, m in enumerate(mounts):
        fs = r.choice(["/dev/nvme0n1p2", "/dev/sda1", "tmpfs", "/dev/mapper/vg-home", "overlay"])
        size = r.randint(1, 900)
        used = r.randint(0, size)
        rows.append([fs, f"{size}G", f"{used}G", f"{size - used}G", f"{100 * used // size}%", m])
    emit_aligned("aligned_df.txt", ["Filesystem", "Size", "Used", "Avail", "Use%", "Mounted on"], rows,
                 ["string"] * 6, align="lrrrrl", gap=2,
                 notes="df -h: right-aligned sizes, a header name with a space")


def control_delimiter_files():
    r = R("cc_us_rs")
    emit("unit_separator_record_separator.txt", BASIC_HDR, basic_rows(r, 20), BASIC_T, delimiter="\x1f",
         record_delimiter="\x1e", quoting="none", final_newline=True,
         notes="ASCII unit separator 0x1F between fields, record separator 0x1E between records")
    r = R("cc_us_lf")
    rows = []
    for i in range(1, 21):
        desc = r.choice(['Desk lamp, brass', '27" monitor', '"Classic" mug', 'Cable; 2 m', 'Chair | black'])
        rows.append([str(i), r.choice(PRODUCTS), desc, rdec(r)])
    rows[0][2] = '"Classic" mug'
    emit("unit_separator_lf.txt", ["sku", "product", "description", "price"], rows,
         ["integer", "string", "string", "decimal"], delimiter="\x1f", quoting="none",
         notes="0x1F between fields, LF records, commas, quotes and pipes inside values unquoted")
    r = R("cc_hive")
    rows = [[str(i), person(r), r.choice(CITIES), rdate(r).isoformat(), rdec(r)] for i in range(1, 26)]
    emit("hive_ctrl_a.txt", None, rows, ["integer", "string", "string", "date", "decimal"], delimiter="\x01",
         quoting="none", notes="Hive's default text format: Ctrl-A (0x01) between fields, no header")


def ragged_files():
    r = R("rg_trailing")
    hdr = ["id", "name", "email", "phone", "street", "city", "notes"]
    rows = []
    for i in range(1, 31):
        full = [str(i), person(r), f"user{i}@example.com", f"555-{r.randint(1000, 9999)}",
                f"{r.randint(1, 99)} High Street", r.choice(CITIES), r.choice(["call first", "VIP", "new"])]
        rows.append(full[:r.choice([3, 3, 3, 4, 7])])
    emit("ragged_trailing_omitted.csv", hdr, rows, ["integer"] + ["string"] * 6,
         extra_truth={"ragged_rows": sum(len(x) != len(hdr) for x in rows)},
         notes="trailing optional fields omitted (no trailing commas) on most rows")
    r = R("rg_semicolon")
    hdr = ["Nr", "Kunde", "Betrag", "Datum", "Bemerkung", "Referenz"]
    rows = []
    for i in range(1, 21):
        full = [str(i), person(r), rdec(r).replace(".", ","), rdate(r).strftime("%d.%m.%Y"), "Skonto", f"R-{i:04d}"]
        rows.append(full[:r.choice([4, 4, 6])])
    emit("ragged_semicolon_preamble.csv", hdr, rows, ["integer", "string", "decimal", "date", "string", "string"],
         delimiter=";", record_delimiter="\r\n", preamble=["Offene Posten", ""],
         extra_truth={"ragged_rows": sum(len(x) != len(hdr) for x in rows)},
         notes="title and blank line, then a header; most rows stop after four of six fields")
    r = R("rg_tab")
    hdr = ["id", "name", "score", "comment", "reviewer"]
    rows = []
    for i in range(1, 25):
        full = [str(i), person(r), str(r.randint(1, 10)), r.choice(["ok", "late", "great work"]), person(r)]
        rows.append(full[:r.choice([2, 2, 3, 5])])
    emit("ragged_tab_sparse.tsv", hdr, rows, ["integer", "string", "integer", "string", "string"],
         delimiter="\t", extra_truth={"ragged_rows": sum(len(x) != len(hdr) for x in rows)},
         notes="tab-separated, most rows carry only the first two or three fields")


def gb18030_files():
    # Characters outside GBK: CJK extension A/B, Tibetan, Uyghur, Mongolian, emoji (four bytes)
    names = ["王䶮", "李𠀾", "陈𡈼", "张㛃", "刘䶮", "赵𠮷", "周㑇", "吴𪚥", "郑䲜", "孙𠊎"]
    r = R("gb_names")
    rows = [[str(i), r.choice(names), r.choice(GBK_CITIES), rdec(r), r.choice(["👍", "好", "⭐ 五星", "🚚 已发货"])]
            for i in range(1, 26)]
    emit("gb18030_rare_names.csv", ["编号", "姓名", "城市", "金额", "备注"], rows,
         ["integer", "string", "string", "decimal", "string"], record_delimiter="\r\n",
         encoding="GB18030", notes="GB18030 with four-byte sequences (extension A/B names, emoji)")
    places = ["拉萨 ལྷ་ས", "乌鲁木齐 ئۈرۈمچی", "呼和浩特 ᠬᠥᠬᠡᠬᠣᠲᠠ", "喀什 قەشقەر", "日喀则 གཞིས་ཀ་རྩེ"]
    r = R("gb_scripts")
    rows = [[str(i), r.choice(places), r.choice(GBK_PRODUCTS), str(r.randint(1, 500))] for i in range(1, 21)]
    emit("gb18030_minority_scripts.csv", ["编号", "地点", "商品", "数量"], rows,
         ["integer", "string", "string", "integer"], delimiter=";", encoding="GB18030",
         notes="GB18030: Chinese beside Tibetan, Uyghur and Mongolian script (four-byte sequences)")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    delimiter_files()
    quote_files()
    encoding_files()
    record_delimiter_files()
    preamble_files()
    header_files()
    type_files()
    structure_files()
    single_column_files()
    aligned_files()
    control_delimiter_files()
    ragged_files()
    gb18030_files()
    names = [t["file"] for t in TRUTH]
    assert len(names) == len(set(names))
    (HERE / "truth.json").write_text(json.dumps(TRUTH, indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    print(f"wrote {len(TRUTH)} files to {OUT} and truth.json", file=sys.stderr)


if __name__ == "__main__":
    main()

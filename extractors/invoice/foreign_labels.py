"""Template-free reading of foreign invoices: label dictionaries per language, locale-aware amounts and dates.

Supplier invoices from abroad (hosting, cloud, telecom, retail, conference fees) print the same handful of
fields in many languages and conventions: ``Rechnungsnummer``/``N° de facture``/``Factuurnummer``,
``1.234,56`` or ``1,234.56`` or ``1 234,56`` or ``1'234.50``, ``05.03.2024`` (day first) or ``03/05/2024``
(month first in the US), month names in the invoice's language, and several totals of which only the
amount due counts (``Total TTC`` over ``Total HT``, ``Te betalen`` over ``Subtotaal``). The labels are data
(``LABELS``); the reader finds each label on a line and takes the value after it, or below it when the
invoice prints a header row over a value row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from extractors.invoice.layout import Line

# ---------------------------------------------------------------- label dictionaries (lower case)

LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "de": ("rechnung", "mwst", "ust", "betrag", "datum", "summe", "netto"),
    "fr": ("facture", "tva", "montant", "ttc", "date de", "à payer"),
    "nl": ("factuur", "btw", "bedrag", "totaal", "te betalen"),
    "es": ("factura", "iva", "importe", "fecha", "base imponible"),
    "it": ("fattura", "iva", "imponibile", "totale", "data"),
    "en": ("invoice", "total", "amount", "date", "vat", "tax", "due", "bill"),
}

NUMBER_LABELS = (
    "rechnungsnummer", "rechnungs-nr.", "rechnungs-nr", "rechnungsnr.", "rechnung nr.", "rechnung nr",
    "belegnummer", "numéro de facture", "n° de facture", "no de facture", "facture n°", "facture no",
    "n° facture", "factuurnummer", "factuurnr.", "factuurnr", "factuur nr.", "número de factura",
    "nº factura", "nº de factura", "n.º factura", "factura nº", "factura n.º", "numero fattura",
    "fattura n.", "fattura nr.", "n. fattura", "invoice number", "invoice no.", "invoice no", "invoice #",
    "invoice nr.", "inv no.", "inv. no.", "bill number", "bill no.", "document number", "document no.",
)
# Titles that may carry the number beside them ("Invoice INV-0042", "Rechnung Nr. 12"); never read below.
TITLE_LABELS = ("tax invoice", "invoice", "rechnung", "facture", "factuur", "fattura", "factura")
DATE_LABELS = (
    "rechnungsdatum", "ausstellungsdatum", "date de facturation", "date de facture", "date d'émission",
    "date d’émission", "factuurdatum", "fecha de factura", "fecha de emisión", "fecha factura",
    "data fattura", "data documento", "data emissione", "invoice date", "date of issue", "issue date",
    "date issued", "issued on", "billing date", "datum", "fecha", "data", "date",
)
# The amount to pay, best first; a line carrying one of these wins over a plain "total".
DUE_LABELS = (
    "amount due", "total due", "balance due", "total amount due", "amount payable", "total payable",
    "grand total", "invoice total", "total incl. vat", "total including vat", "total (incl. vat)",
    "total incl vat", "total inc. vat", "total inc vat", "total vat included", "total (vat included)",
    "total incl. gst", "total inc. gst", "total inc gst",
    "gesamtbetrag", "rechnungsbetrag", "zu zahlender betrag", "zahlbetrag", "endbetrag", "gesamtsumme",
    "bruttobetrag", "summe brutto", "total ttc", "montant ttc", "net à payer", "montant à payer",
    "total à payer", "te betalen", "totaal te betalen", "totaalbedrag", "totaal incl. btw",
    "total a pagar", "importe total", "total factura", "totale da pagare", "totale fattura",
    "totale documento", "netto a pagare",
)
TOTAL_LABELS = ("total amount", "total", "totaal", "totale", "summe", "montant total", "gesamt")
# Lines that are never the total even when they say "total": net amounts, subtotals and tax lines.
NOT_TOTAL = (
    "subtotal", "sub-total", "sub total", "net amount", "net total", "total net", "total excl", "excl. vat",
    "excluding vat", "before tax", "taxable value", "total ht", "montant ht", "sous-total", "hors taxe",
    "zwischensumme", "nettobetrag", "summe netto", "netto", "subtotaal", "excl. btw", "totaal excl",
    "base imponible", "imponibile", "totale imponibile", "mwst", "ust.", "tva ", "btw ", "iva ", "vat ",
    "vat:", "sales tax", "cgst", "sgst", "igst", "gst @", "tax amount", "total tax", "total vat",
    "amount paid", "paid", "payé", "bezahlt", "betaald", "in words", "en lettres",
)

# ---------------------------------------------------------------- months

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "jänner", "janvier", "janv", "januari", "enero", "ene", "gennaio", "gen"),
    2: ("february", "feb", "februar", "février", "févr", "fevrier", "februari", "febrero", "febbraio"),
    3: ("march", "mar", "märz", "maerz", "mär", "mars", "maart", "mrt", "marzo"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile"),
    5: ("may", "mai", "mei", "mayo", "maggio", "mag"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno", "giu"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug"),
    8: ("august", "aug", "août", "aout", "augustus", "agosto", "ago"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "settembre", "set"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: ("december", "dec", "dezember", "dez", "décembre", "decembre", "diciembre", "dic", "dicembre"),
}
MONTHS: dict[str, int] = {name: month for month, names in _MONTH_NAMES.items() for name in names}
_MONTH_WORD = r"([a-zäéèûô]{3,10})\.?"

# ---------------------------------------------------------------- currencies

CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "INR", "JPY", "HKD", "SGD", "AUD", "CAD", "SEK", "DKK", "NOK",
                  "PLN", "CZK", "CNY")
CURRENCY_SYMBOLS: tuple[tuple[str, str], ...] = (  # longest first
    ("US$", "USD"), ("A$", "AUD"), ("AU$", "AUD"), ("C$", "CAD"), ("CA$", "CAD"), ("S$", "SGD"),
    ("HK$", "HKD"), ("Rs.", "INR"), ("₹", "INR"), ("€", "EUR"), ("£", "GBP"), ("$", "USD"), ("Fr.", "CHF"),
)

_AMOUNT = re.compile(
    r"(?<![\w.,])-?\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?(?![\d])"  # Indian grouping: 1,18,000.00
    r"|(?<![\w.,])-?\d{1,3}(?:[.,'’\u00a0\u202f ]\d{3})*(?:[.,]\d{1,2})?(?![\d])"
    r"|(?<![\w.,])-?\d+(?:[.,]\d{1,2})?(?![\d])")


@dataclass(frozen=True, slots=True)
class Row:
    """One printed line: its readable text and the x position of every character (for column matching)."""

    text: str
    lower: str
    xs: tuple[float, ...]
    top: float
    size: float


def rows_of(lines: Sequence[Line]) -> list[Row]:
    """Readable rows with a space wherever the page has a gap, and each character's x position."""
    rows: list[Row] = []
    for line in lines:
        chars: list[str] = []
        xs: list[float] = []
        previous = None
        for g in line.glyphs:
            text = unicodedata.normalize("NFKC", g.text) if not g.text.isascii() else g.text
            if text.isspace() or not text:
                text = " "
            elif previous is not None and g.x0 - previous.x1 > 0.2 * g.size and chars and chars[-1] != " ":
                chars.append(" ")
                xs.append(previous.x1)
            for ch in text:
                if ch == " " and (not chars or chars[-1] == " "):
                    continue
                chars.append(ch)
                xs.append(g.x0)
            previous = g
        text = "".join(chars).rstrip()
        rows.append(Row(text, text.lower(), tuple(xs[: len(text)]), line.top, line.size))
    return rows


def detect_language(text: str) -> str:
    """The invoice's language by its label words (English when nothing else is clearly present)."""
    lower = text.lower()
    scores = {lang: sum(lower.count(word) for word in words) for lang, words in LANGUAGE_WORDS.items()}
    best = max((lang for lang in scores if lang != "en"), key=lambda lang: scores[lang])
    return best if scores[best] >= 2 else "en"


def parse_amount(token: str, decimal_comma: bool | None = None) -> Decimal | None:
    """An amount with either decimal mark and any thousands separator; None when not an amount.

    ``1.234,56``, ``1,234.56``, ``1 234,56``, ``1'234.50``, ``1,23,456.78`` (Indian grouping). A single
    separator followed by three digits is a thousands separator (``1.234`` = 1234) unless the caller
    knows the decimal mark.
    """
    text = token.strip().replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    negative = text.startswith("-")
    text = text.lstrip("-").replace(" ", "").replace("'", "")
    if not text or not re.fullmatch(r"[\d.,]+", text) or not text[0].isdigit():
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        tail = len(text) - max(last_dot, last_comma) - 1
        if text.count(mark) > 1:
            decimal = ""
        elif decimal_comma is not None and tail == 3:
            decimal = "," if decimal_comma else "."
            decimal = decimal if decimal == mark else ""
        else:
            decimal = mark if tail != 3 else ""
    else:
        decimal = ""
    thousands = {".", ","} - {decimal}
    for sep in thousands:
        text = text.replace(sep, "")
    if decimal:
        text = text.replace(decimal, ".")
    try:
        value = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return -value if negative else value


def amounts_in(text: str) -> list[tuple[str, Decimal, int]]:
    """(token, value, end position) of every amount in a text, left to right; years and counts included."""
    out = []
    for m in _AMOUNT.finditer(text):
        value = parse_amount(m[0])
        if value is not None:
            out.append((m[0], value, m.end()))
    return out


def parse_date(text: str, *, day_first: bool | None) -> tuple[date | None, bool, str | None]:
    """(date, certain, the matched text) from the text after a date label.

    ``day_first`` is the locale's order for numeric dates (None: unknown); a numeric date whose day and
    month can be swapped is uncertain unless the locale decides.
    """
    lower = text.lower()
    m = re.search(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)", lower)
    if m:
        return _safe(int(m[1]), int(m[3]), int(m[4])), True, m[0]
    for m in re.finditer(r"(\d{1,2})(?:er|st|nd|rd|th|\.)?[\s\-/]*(?:de\s+)?" + _MONTH_WORD
                         + r"[\s\-/,]*(?:de\s+)?(\d{4}|\d{2})\b", lower):
        if m[2] in MONTHS:
            return _safe(_year(m[3]), MONTHS[m[2]], int(m[1])), True, m[0]
    for m in re.finditer(_MONTH_WORD + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", lower):
        if m[1] in MONTHS:
            return _safe(int(m[3]), MONTHS[m[1]], int(m[2])), True, m[0]
    m = re.search(r"(\d{1,2})([./\-])(\d{1,2})\2(\d{4}|\d{2})\b", lower)
    if m:
        first, second, year = int(m[1]), int(m[3]), _year(m[4])
        if first > 12:
            return _safe(year, second, first), True, m[0]
        if second > 12:
            return _safe(year, first, second), True, m[0]
        if m[2] == ".":  # dotted dates are day first wherever they are printed
            return _safe(year, second, first), True, m[0]
        if day_first is None:
            return _safe(year, second, first), first == second, m[0]
        return (_safe(year, second, first) if day_first else _safe(year, first, second)), True, m[0]
    return None, False, None


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def currency_in(text: str) -> str | None:
    """The currency named in a piece of text: an ISO code first, then a symbol."""
    for code in CURRENCY_CODES:
        if re.search(rf"(?<![A-Z]){code}(?![A-Z])", text):
            return code
    for symbol, code in CURRENCY_SYMBOLS:
        if symbol in text:
            return code
    return None


# ---------------------------------------------------------------- finding labels and values

def _label_pattern(labels: Sequence[str]) -> re.Pattern[str]:
    ordered = sorted(labels, key=len, reverse=True)
    return re.compile(r"(?<![a-zäöüéèà])(" + "|".join(re.escape(label) for label in ordered) + r")(?![a-zäöüéèà])")


_NUMBER_RE = _label_pattern(NUMBER_LABELS)
_TITLE_RE = _label_pattern(TITLE_LABELS)
_DATE_RE = _label_pattern(DATE_LABELS)
_DUE_RE = _label_pattern(DUE_LABELS)
_TOTAL_RE = _label_pattern(TOTAL_LABELS)
_ALL_LABELS = _label_pattern(NUMBER_LABELS + DATE_LABELS + DUE_LABELS + TOTAL_LABELS
                             + ("due date", "fälligkeitsdatum", "date d'échéance", "vervaldatum", "customer",
                                "kunde", "client", "klant", "order", "bestellung", "page", "seite", "po number"))
_NUMBER_VALUE = re.compile(r"[:#.\s]*(?:no\.?|nr\.?|n°|nº|#)?[:#.\s]*([A-Z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9])")


@dataclass(frozen=True, slots=True)
class Hit:
    """A value found for a label: its text and whether it sat beside the label or under it."""

    text: str
    below: bool


def value_for(rows: Sequence[Row], index: int, start: int, end: int) -> Hit | None:
    """The text after a label on its row up to the next label, else the text under it on the next row."""
    row = rows[index]
    following = _ALL_LABELS.search(row.lower, end)
    upto = following.start() if following else len(row.text)
    beside = row.text[end:upto].strip(" :#.-–")
    if beside:
        return Hit(row.text[end:upto], False)
    if index + 1 >= len(rows) or not row.xs:
        return None
    below = rows[index + 1]
    if below.top - row.top > 3 * row.size:
        return None
    x0 = row.xs[start]
    x1 = row.xs[following.start()] if following else x0 + 200  # up to where the next column's label starts
    picked = "".join(ch for ch, x in zip(below.text, below.xs, strict=False) if x0 - 4 <= x < x1 - 2)
    return Hit(picked.strip(), True) if picked.strip() else None


def find_number(rows: Sequence[Row]) -> str | None:
    """The invoice number: the first number label whose value holds a digit, else a title with one beside it."""
    for pattern, below in ((_NUMBER_RE, True), (_TITLE_RE, False)):
        for index, row in enumerate(rows):
            for m in pattern.finditer(row.lower):
                hit = value_for(rows, index, m.start(), m.end())
                if hit is None or (hit.below and not below):
                    continue
                v = _NUMBER_VALUE.match(hit.text)
                if v and any(ch.isdigit() for ch in v[1]) and len(v[1]) >= 3 and _is_not_date(v[1]):
                    return v[1]
    return None


def _is_not_date(text: str) -> bool:
    return re.fullmatch(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{2,4}", text) is None


def find_date(rows: Sequence[Row], *, day_first: bool | None) -> tuple[date | None, bool, str | None]:
    """The issue date from the first date label whose value parses."""
    for index, row in enumerate(rows):
        for m in _DATE_RE.finditer(row.lower):
            if re.search(r"(due|fällig|échéance|verval|scadenza|vencimiento|leistung|delivery|livraison)\W*$",
                         row.lower[:m.start()]):
                continue
            if re.match(r"\W*(d['’]échéance|de livraison|de vencimiento|de entrega|di scadenza|di consegna)",
                        row.lower[m.end():]):  # "Date d'échéance": a due date, not the issue date
                continue
            hit = value_for(rows, index, m.start(), m.end())
            if hit is None:
                continue
            found, certain, raw = parse_date(hit.text, day_first=day_first)
            if found is not None:
                return found, certain, raw
    return None, False, None


_NOT_ISSUE = re.compile(r"due|fällig|échéance|verval|scadenza|vencimiento|leistung|delivery|livraison|period|"
                        r"période|zeitraum|periode|until|bis|au\s|charge|autopay|collect", re.IGNORECASE)


def find_unlabelled_date(rows: Sequence[Row], *, day_first: bool | None) -> tuple[date | None, str | None]:
    """The first date printed without a label ("Lyon, le 5 mars 2024"), skipping due, service and period dates."""
    for row in rows:
        if _NOT_ISSUE.search(row.text):
            continue
        found, certain, raw = parse_date(row.text, day_first=day_first)
        if found is not None and certain:
            return found, raw
    return None, None


@dataclass(frozen=True, slots=True)
class Total:
    """The total chosen, the rank of its label (2 = amount due, 1 = plain total) and its row's currency."""

    amount: Decimal
    rank: int
    currency: str | None


def find_total(rows: Sequence[Row], *, decimal_comma: bool | None) -> Total | None:
    """The amount to pay: a due label beats a plain total; subtotal, net and tax lines never count.

    Among lines of the same rank the last one printed wins (totals come after the lines they sum).
    """
    best: Total | None = None
    for index, row in enumerate(rows):
        lower = row.lower
        if any(word in lower + " " for word in NOT_TOTAL) and not _DUE_RE.search(lower):
            continue
        m = _DUE_RE.search(lower)
        rank = 2
        if m is None:
            m = _TOTAL_RE.search(lower)
            rank = 1
        if m is None:
            continue
        hit = value_for(rows, index, m.start(), m.end())
        if hit is None:
            continue
        candidates = [(token, value) for token, value, _ in amounts_in(hit.text)
                      if not re.fullmatch(r"\d{1,2}", token.strip())]
        if not candidates:
            continue
        token, value = candidates[-1]
        if decimal_comma is not None:
            value = parse_amount(token, decimal_comma) or value
        currency = currency_in(hit.text) or currency_in(row.text[: m.start()])
        if best is None or rank >= best.rank:
            best = Total(value, rank, currency)
    return best


def decimal_comma_of(text: str) -> bool | None:
    """Whether the invoice writes decimals with a comma, judged from its amounts with two decimals."""
    comma = len(re.findall(r"\d,\d{2}(?!\d)", text))
    dot = len(re.findall(r"\d\.\d{2}(?!\d)", text))
    if comma == dot:
        return None
    return comma > dot


def day_first_of(text: str, language: str, currency: str | None) -> bool | None:
    """The numeric date order the invoice's locale uses: month first only for US-dollar English invoices."""
    if language != "en":
        return True
    if currency == "USD" or re.search(r"\b[A-Z]{2}\s\d{5}(?:-\d{4})?\b", text):
        return False
    if currency in ("GBP", "EUR", "INR", "AUD", "SGD", "HKD", "CHF") or "GSTIN" in text:
        return True
    return None


INVOICE_WORDS = re.compile(r"\b(invoice|rechnung|facture|factuur|fattura|factura|tax\s+invoice|bill\s+of\s+supply)\b",
                           re.IGNORECASE)


def looks_like_invoice(rows: Sequence[Row]) -> bool:
    """An invoice word in any of the languages, or — for a bill without one — a number label and a total."""
    text = "\n".join(row.text for row in rows)
    if INVOICE_WORDS.search(text):
        return True
    return find_number(rows) is not None and find_total(rows, decimal_comma=None) is not None

"""Foreign supplier invoices in the layouts hospitals receive: hosting, cloud, retail and telecom bills in
German, French, Dutch, English (UK, US), Indian GST, Spanish, Italian and Swiss German, each with its ground
truth (number, issue date, total to pay, currency).

The suppliers are invented; the layouts follow what such invoices print: address blocks, a header row of
labels with the values below it, an item table, subtotal / VAT / total lines in the locale's number format,
due dates, customer and account numbers, bank details and footers that must not be mistaken for the fields.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

FONT = "ForeignSans"
FONT_BOLD = "ForeignSansBold"
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ForeignSample:
    """One generated foreign invoice PDF and the four values reading it must yield."""

    name: str
    layout: str
    data: bytes
    truth: dict[str, Any]  # number, issue_date, total_with_tax, currency


Text = tuple[float, float, str, float, str]  # x, y, text, size, align ("l" / "r" / "b" bold)


@lru_cache(maxsize=1)
def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))


def render(texts: list[Text], *, helvetica: bool = False) -> bytes:
    """A4 PDF with the given texts (embedded DejaVu subset, or the standard Helvetica for Latin-1 bills)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _fonts()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    for x, y, text, size, align in texts:
        bold = "b" in align
        c.setFont(("Helvetica-Bold" if bold else "Helvetica") if helvetica else (FONT_BOLD if bold else FONT), size)
        if "r" in align:
            c.drawRightString(x, y, text)
        else:
            c.drawString(x, y, text)
    c.setLineWidth(0.5)
    c.line(40, 520, 555, 520)
    c.showPage()
    c.save()
    return buffer.getvalue()


def en(v: Decimal) -> str:
    return f"{v:,.2f}"


def de(v: Decimal) -> str:
    return f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def fr(v: Decimal) -> str:
    return f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",")


def ch(v: Decimal) -> str:
    return f"{v:,.2f}".replace(",", "'")


def indian(v: Decimal) -> str:
    whole, frac = f"{v:.2f}".split(".")
    head, tail = whole[:-3], whole[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail]) + "." + frac if groups else f"{tail}.{frac}"


_DE_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember"]
_FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre"]
_NL_MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
              "november", "december"]
_IT_MONTHS = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
              "ottobre", "novembre", "dicembre"]


def _money(rng: random.Random, lo: int, hi: int) -> Decimal:
    return Decimal(rng.randint(lo * 100, hi * 100)) / 100


def _vat(net: Decimal, rate: str) -> Decimal:
    return (net * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def _items(rng: random.Random, names: list[str], lo: int, hi: int) -> list[tuple[str, Decimal]]:
    return [(name, _money(rng, lo, hi)) for name in rng.sample(names, rng.randint(1, min(4, len(names))))]


def _table(texts: list[Text], items: list[tuple[str, Decimal]], fmt: Callable[[Decimal], str], y: float,
           suffix: str = "") -> float:
    for pos, (name, amount) in enumerate(items, start=1):
        texts += [(50, y, str(pos), 9, "l"), (80, y, name, 9, "l"), (550, y, fmt(amount) + suffix, 9, "r")]
        y -= 16
    return y - 10


def de_hosting(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"BH-{issued.year}-{rng.randint(1, 999999):06d}"
    items = _items(rng, ["Dedicated Server AX41-NVMe", "Cloud Server CX22", "Storage Box BX11", "Zusätzliche IPv4",
                         "Backup-Speicher 100 GB"], 4, 180)
    net = sum((a for _, a in items), Decimal("0"))
    tax = _vat(net, "0.19")
    texts: list[Text] = [
        (50, 790, "Bergwerk Hosting GmbH", 16, "b"), (50, 774, "Industriestraße 25 · 91710 Gunzenhausen", 8, "l"),
        (50, 700, "Universitätsklinikum Partner-Einkauf", 9, "l"), (50, 688, "Hangzhou, China", 9, "l"),
        (50, 640, "Rechnung", 18, "b"),
        (360, 700, f"Rechnungsnummer: {number}", 9, "l"), (360, 686, f"Rechnungsdatum: {issued:%d.%m.%Y}", 9, "l"),
        (360, 672, f"Kundennummer: K{rng.randint(100000, 999999)}", 9, "l"),
        (360, 658, f"Fälligkeitsdatum: {issued + timedelta(days=14):%d.%m.%Y}", 9, "l"),
        (50, 600, "Pos.", 9, "b"), (80, 600, "Beschreibung", 9, "b"), (550, 600, "Betrag", 9, "rb")]
    y = _table(texts, items, de, 582, " €")
    texts += [(400, y, "Zwischensumme", 9, "l"), (550, y, de(net) + " €", 9, "r"),
              (400, y - 14, "MwSt. 19 %", 9, "l"), (550, y - 14, de(tax) + " €", 9, "r"),
              (400, y - 30, "Gesamtbetrag", 10, "b"), (550, y - 30, de(net + tax) + " €", 10, "rb"),
              (50, 90, "IBAN: DE89 3704 0044 0532 0130 00 · BIC: COBADEFFXXX", 8, "l"),
              (50, 78, "USt-IdNr.: DE812871812 · Amtsgericht Ansbach HRB 3204", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, False


def de_retail(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"{issued.year}-{rng.randint(10000, 99999)}"
    items = _items(rng, ["Ordnerregal Stahl 5 Böden", "Bürostuhl ergonomisch", "Laserdrucker Toner schwarz",
                         "Kopierpapier A4 (5 x 500 Bl.)"], 12, 420)
    gross = sum((a for _, a in items), Decimal("0"))
    net = (gross / Decimal("1.19")).quantize(CENT, rounding=ROUND_HALF_UP)
    texts: list[Text] = [
        (50, 790, "Kaufhaus Lindner KG", 15, "b"), (50, 775, "Marktplatz 3, 04109 Leipzig", 8, "l"),
        (50, 700, f"Rechnung Nr. {number}", 14, "b"),
        (50, 680, f"Datum: {issued.day}. {_DE_MONTHS[issued.month - 1]} {issued.year}", 9, "l"),
        (50, 666, f"Bestellung: B{rng.randint(1000000, 9999999)}", 9, "l"),
        (80, 620, "Artikel", 9, "b"), (420, 620, "Menge", 9, "b"), (550, 620, "Gesamt", 9, "rb")]
    y = _table(texts, items, de, 602)
    texts += [(380, y, "Summe netto", 9, "l"), (550, y, de(net), 9, "r"),
              (380, y - 14, "USt 19 %", 9, "l"), (550, y - 14, de(gross - net), 9, "r"),
              (380, y - 30, "Zu zahlender Betrag EUR", 10, "b"), (550, y - 30, de(gross), 10, "rb"),
              (50, 100, "Zahlbar sofort ohne Abzug. Vielen Dank für Ihren Einkauf!", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": gross, "currency": "EUR"}, True


def fr_telecom(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"FT{rng.randint(10000000, 99999999)}"
    net = _money(rng, 20, 1900)
    tax = _vat(net, "0.20")
    texts: list[Text] = [
        (50, 790, "Opéra Télécom SA", 16, "b"), (50, 775, "12 rue de la Paix, 75002 Paris", 8, "l"),
        (400, 790, "FACTURE", 16, "b"),
        (360, 740, f"N° de facture : {number}", 9, "l"), (360, 726, f"Date de facture : {issued:%d/%m/%Y}", 9, "l"),
        (360, 712, f"N° client : {rng.randint(1000000, 9999999)}", 9, "l"),
        (50, 650, f"Période de facturation : du 01/{issued:%m/%Y} au 28/{issued:%m/%Y}", 9, "l"),
        (80, 610, "Abonnement Pro Fibre + Mobile", 9, "l"), (550, 610, fr(net) + " €", 9, "r"),
        (380, 560, "Total HT", 9, "l"), (550, 560, fr(net) + " €", 9, "r"),
        (380, 546, "TVA 20 %", 9, "l"), (550, 546, fr(tax) + " €", 9, "r"),
        (380, 530, "Total TTC", 10, "b"), (550, 530, fr(net + tax) + " €", 10, "rb"),
        (50, 470, f"Montant prélevé le {issued + timedelta(days=10):%d/%m/%Y} sur votre compte", 8, "l"),
        (50, 80, "SA au capital de 1 000 000 € · RCS Paris 512 345 678 · TVA FR41512345678", 7, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, False


def fr_cloud(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"NA-{rng.randint(100000, 999999)}"
    items = _items(rng, ["Instances de calcul B2-30", "Stockage objet (To)", "Bande passante sortante",
                         "Support Business"], 100, 3000)
    net = sum((a for _, a in items), Decimal("0"))
    tax = _vat(net, "0.20")
    due = issued + timedelta(days=30)
    texts: list[Text] = [
        (50, 790, "Nuage Azur SAS", 16, "b"), (50, 775, "2 rue Kellermann, 59100 Roubaix", 8, "l"),
        (50, 720, f"Facture n° {number}", 14, "b"),
        (50, 700, f"Date d'émission : {issued.day} {_FR_MONTHS[issued.month - 1]} {issued.year}", 9, "l"),
        (50, 686, f"Date d'échéance : {due.day} {_FR_MONTHS[due.month - 1]} {due.year}", 9, "l"),
        (80, 640, "Désignation", 9, "b"), (550, 640, "Montant HT", 9, "rb")]
    y = _table(texts, items, fr, 622, " EUR")
    texts += [(380, y, "Total HT", 9, "l"), (550, y, fr(net) + " EUR", 9, "r"),
              (380, y - 14, "TVA (20 %)", 9, "l"), (550, y - 14, fr(tax) + " EUR", 9, "r"),
              (380, y - 30, "Net à payer", 10, "b"), (550, y - 30, fr(net + tax) + " EUR", 10, "rb")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, False


def nl_hosting(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"{issued.year}-{rng.randint(10000, 99999)}"
    items = _items(rng, ["VPS Pro 8 GB", "Domeinnaam .nl", "SSL-certificaat", "Managed backup"], 5, 400)
    net = sum((a for _, a in items), Decimal("0"))
    tax = _vat(net, "0.21")
    texts: list[Text] = [
        (50, 790, "Polder Hosting B.V.", 16, "b"), (50, 775, "Keizersgracht 100, 1015 CV Amsterdam", 8, "l"),
        (50, 720, "Factuur", 16, "b"),
        (360, 740, f"Factuurnummer: {number}", 9, "l"), (360, 726, f"Factuurdatum: {issued:%d-%m-%Y}", 9, "l"),
        (360, 712, f"Vervaldatum: {issued + timedelta(days=14):%d-%m-%Y}", 9, "l"),
        (80, 660, "Omschrijving", 9, "b"), (550, 660, "Bedrag", 9, "rb")]
    y = _table(texts, items, lambda v: "€ " + de(v), 642)
    texts += [(380, y, "Subtotaal", 9, "l"), (550, y, "€ " + de(net), 9, "r"),
              (380, y - 14, "BTW 21%", 9, "l"), (550, y - 14, "€ " + de(tax), 9, "r"),
              (380, y - 30, "Te betalen", 10, "b"), (550, y - 30, "€ " + de(net + tax), 10, "rb"),
              (50, 80, "KvK 12345678 · BTW-nr NL001234567B01 · IBAN NL91 ABNA 0417 1643 00", 7, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, False


def nl_retail(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"GS/{issued.year}/{rng.randint(1000, 9999)}"
    gross = _money(rng, 30, 4000)
    net = (gross / Decimal("1.21")).quantize(CENT, rounding=ROUND_HALF_UP)
    texts: list[Text] = [
        (50, 790, "Grachtenshop", 18, "b"), (50, 774, "Oudegracht 45, 3511 AB Utrecht", 8, "l"),
        (50, 730, "FACTUUR", 14, "b"), (50, 712, f"Factuurnr.: {number}", 9, "l"),
        (50, 698, f"Datum: {issued.day} {_NL_MONTHS[issued.month - 1]} {issued.year}", 9, "l"),
        (80, 650, "Medische weegschaal digitaal", 9, "l"), (550, 650, "€ " + de(gross), 9, "r"),
        (360, 600, "Totaal excl. BTW", 9, "l"), (550, 600, "€ " + de(net), 9, "r"),
        (360, 586, "BTW 21%", 9, "l"), (550, 586, "€ " + de(gross - net), 9, "r"),
        (360, 570, "Totaal incl. BTW", 10, "b"), (550, 570, "€ " + de(gross), 10, "rb"),
        (50, 520, "Betaald via iDEAL", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": gross, "currency": "EUR"}, True


def us_cloud(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"CCS-{rng.randint(10000, 99999)}"
    items = _items(rng, ["Compute (vCPU-hours)", "Block storage (GB-month)", "Data transfer out (GB)",
                         "Premium support"], 50, 2500)
    net = sum((a for _, a in items), Decimal("0"))
    tax = _vat(net, "0.101")
    texts: list[Text] = [
        (50, 790, "Cumulus Cloud Services, Inc.", 15, "b"), (50, 775, "1200 Fifth Avenue, Seattle, WA 98101", 8, "l"),
        (450, 790, "INVOICE", 16, "b"),
        (50, 730, "Invoice #", 9, "b"), (170, 730, "Invoice Date", 9, "b"), (290, 730, "Due Date", 9, "b"),
        (50, 716, number, 9, "l"), (170, 716, f"{issued:%m/%d/%Y}", 9, "l"),
        (290, 716, f"{issued + timedelta(days=30):%m/%d/%Y}", 9, "l"),
        (80, 660, "Description", 9, "b"), (550, 660, "Amount", 9, "rb")]
    y = _table(texts, items, lambda v: "$" + en(v), 642)
    texts += [(380, y, "Subtotal", 9, "l"), (550, y, "$" + en(net), 9, "r"),
              (380, y - 14, "Sales Tax (10.1%)", 9, "l"), (550, y - 14, "$" + en(tax), 9, "r"),
              (380, y - 30, "Amount Due (USD)", 10, "b"), (550, y - 30, "$" + en(net + tax), 10, "rb"),
              (50, 90, "Questions? billing@cumulus.example · Terms: Net 30", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "USD"}, False


def gb_telecom(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"INV-{rng.randint(1000000, 9999999)}"
    net = _money(rng, 15, 900)
    tax = _vat(net, "0.20")
    texts: list[Text] = [
        (50, 790, "Thames Mobile Ltd", 16, "b"), (50, 775, "1 Riverside Walk, London SE1 9PP", 8, "l"),
        (50, 730, "Tax invoice", 14, "b"),
        (50, 712, f"Invoice number {number}", 9, "l"), (50, 698, f"Date of issue {issued:%d/%m/%Y}", 9, "l"),
        (50, 684, f"Account number {rng.randint(1000000, 9999999)}", 9, "l"),
        (80, 640, "Business Unlimited 5G (12 lines)", 9, "l"), (550, 640, "£" + en(net), 9, "r"),
        (360, 590, "Total (excl. VAT)", 9, "l"), (550, 590, "£" + en(net), 9, "r"),
        (360, 576, "VAT @ 20%", 9, "l"), (550, 576, "£" + en(tax), 9, "r"),
        (360, 560, "Total due", 10, "b"), (550, 560, "£" + en(net + tax), 10, "rb"),
        (50, 500, f"We will collect this by Direct Debit on or after {issued + timedelta(days=14):%d %B %Y}.", 8, "l"),
        (50, 80, "VAT registration no. GB 123 4567 89 · Registered in England 01234567", 7, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "GBP"}, True


def in_gst(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    fy = issued.year if issued.month >= 4 else issued.year - 1
    number = f"DDC/{fy % 100}-{(fy + 1) % 100}/{rng.randint(1, 9999):04d}"
    net = Decimal(rng.randint(5000, 900000))
    cgst = _vat(net, "0.09")
    total = net + 2 * cgst
    texts: list[Text] = [
        (50, 790, "Deccan Datacentre Pvt. Ltd.", 15, "b"),
        (50, 775, "Plot 14, Electronic City, Bengaluru 560100", 8, "l"),
        (50, 762, "GSTIN: 29AAACD1234F1Z5", 8, "l"), (240, 730, "TAX INVOICE", 14, "b"),
        (50, 700, f"Invoice No.: {number}", 9, "l"), (330, 700, f"Invoice Date: {issued:%d-%b-%Y}", 9, "l"),
        (50, 686, "Place of Supply: Karnataka (29)", 9, "l"), (330, 686, "Reverse Charge: No", 9, "l"),
        (50, 650, "HSN/SAC", 9, "b"), (130, 650, "Description", 9, "b"), (550, 650, "Taxable Value", 9, "rb"),
        (50, 634, "998315", 9, "l"), (130, 634, "Colocation rack 42U, power 5 kW", 9, "l"),
        (550, 634, indian(net), 9, "r"),
        (360, 590, "Taxable Value", 9, "l"), (550, 590, indian(net), 9, "r"),
        (360, 576, "CGST @ 9%", 9, "l"), (550, 576, indian(cgst), 9, "r"),
        (360, 562, "SGST @ 9%", 9, "l"), (550, 562, indian(cgst), 9, "r"),
        (360, 546, "Grand Total", 10, "b"), (550, 546, "₹ " + indian(total), 10, "rb"),
        (50, 500, "Amount in words: Indian Rupees as per total above only", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": total.quantize(CENT),
                   "currency": "INR"}, False


def es_retail(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"F-{issued.year}-{rng.randint(1000, 9999)}"
    net = _money(rng, 40, 9000)
    tax = _vat(net, "0.21")
    texts: list[Text] = [
        (50, 790, "Suministros Ibéricos S.L.", 15, "b"), (50, 775, "Calle de Alcalá 120, 28009 Madrid", 8, "l"),
        (50, 762, "CIF: B12345678", 8, "l"), (400, 790, "FACTURA", 16, "b"),
        (360, 740, f"Nº Factura: {number}", 9, "l"), (360, 726, f"Fecha: {issued:%d/%m/%Y}", 9, "l"),
        (80, 660, "Material de laboratorio", 9, "l"), (550, 660, de(net) + " €", 9, "r"),
        (380, 600, "Base imponible", 9, "l"), (550, 600, de(net) + " €", 9, "r"),
        (380, 586, "IVA 21%", 9, "l"), (550, 586, de(tax) + " €", 9, "r"),
        (380, 570, "Total factura", 10, "b"), (550, 570, de(net + tax) + " €", 10, "rb"),
        (50, 100, "Forma de pago: transferencia a 30 días", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, True


def it_telecom(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"{issued.year}/{rng.randint(10000, 99999)}"
    net = _money(rng, 20, 2000)
    tax = _vat(net, "0.22")
    texts: list[Text] = [
        (50, 790, "Telefonia Adriatica S.p.A.", 15, "b"), (50, 775, "Via Roma 1, 60121 Ancona", 8, "l"),
        (50, 730, f"Fattura n. {number}", 14, "b"),
        (50, 712, f"Data fattura: {issued.day} {_IT_MONTHS[issued.month - 1]} {issued.year}", 9, "l"),
        (50, 698, f"Codice cliente: {rng.randint(100000, 999999)}", 9, "l"),
        (80, 650, "Canone linea fissa e mobile", 9, "l"), (550, 650, de(net) + " €", 9, "r"),
        (380, 600, "Imponibile", 9, "l"), (550, 600, de(net) + " €", 9, "r"),
        (380, 586, "IVA 22%", 9, "l"), (550, 586, de(tax) + " €", 9, "r"),
        (380, 570, "Totale da pagare", 10, "b"), (550, 570, de(net + tax) + " €", 10, "rb"),
        (50, 80, "P. IVA IT01234567890", 7, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, True


def ch_retail(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"AM-{rng.randint(10000, 99999)}"
    net = _money(rng, 100, 25000)
    tax = _vat(net, "0.081")
    texts: list[Text] = [
        (50, 790, "Alpenmed AG", 16, "b"), (50, 775, "Bahnhofstrasse 10, 8001 Zürich", 8, "l"),
        (50, 730, "Rechnung", 16, "b"),
        (360, 740, f"Rechnungs-Nr. {number}", 9, "l"), (360, 726, f"Datum: {issued:%d.%m.%Y}", 9, "l"),
        (80, 660, "Patientenmonitor PM-8, inkl. Installation", 9, "l"), (550, 660, ch(net), 9, "r"),
        (360, 600, "Total exkl. MWST CHF", 9, "l"), (550, 600, ch(net), 9, "r"),
        (360, 586, "MWST 8.1% CHF", 9, "l"), (550, 586, ch(tax), 9, "r"),
        (360, 570, "Total CHF", 10, "b"), (550, 570, ch(net + tax), 10, "rb"),
        (50, 80, "MWST-Nr. CHE-123.456.789 MWST · Zahlbar innert 30 Tagen", 7, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "CHF"}, False


def ee_hosting(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"{rng.randint(100000, 999999)}"
    net = _money(rng, 5, 600)
    tax = _vat(net, "0.22")
    texts: list[Text] = [
        (50, 790, "Baltic Byte OÜ", 16, "b"), (50, 775, "Narva mnt 5, 10117 Tallinn, Estonia", 8, "l"),
        (50, 740, "Invoice", 16, "b"),
        (50, 710, "Invoice No.", 9, "b"), (170, 710, "Date", 9, "b"), (290, 710, "Customer", 9, "b"),
        (50, 696, number, 9, "l"), (170, 696, issued.isoformat(), 9, "l"), (290, 696, "HZ-HOSP-01", 9, "l"),
        (80, 650, "Managed Kubernetes cluster, 1 month", 9, "l"), (550, 650, en(net), 9, "r"),
        (380, 600, "Net total", 9, "l"), (550, 600, en(net), 9, "r"),
        (380, 586, "VAT 22%", 9, "l"), (550, 586, en(tax), 9, "r"),
        (380, 570, "Amount Due (EUR)", 10, "b"), (550, 570, en(net + tax), 10, "rb"),
        (50, 80, "VAT ID EE101234567 · Reg. code 12345678", 7, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, False


def au_saas(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"INV-{rng.randint(1000, 99999)}"
    items = _items(rng, ["Team plan (25 seats)", "Extra storage 1 TB", "Onboarding session", "API calls overage"],
                   20, 900)
    net = sum((a for _, a in items), Decimal("0"))
    gst = _vat(net, "0.10")
    texts: list[Text] = [
        (50, 790, "Koala Software Pty Ltd", 15, "b"), (50, 775, "Level 3, 88 George St, Sydney NSW 2000", 8, "l"),
        (50, 763, "ABN 51 824 753 556", 8, "l"), (50, 730, "TAX INVOICE", 14, "b"),
        (360, 740, "Invoice Number", 9, "l"), (470, 740, number, 9, "l"),
        (360, 726, "Issue Date", 9, "l"), (470, 726, f"{issued.day} {issued:%b} {issued.year}", 9, "l"),
        (360, 712, "Due Date", 9, "l"), (470, 712, f"{(issued + timedelta(days=14)).day} "
                                                   f"{issued + timedelta(days=14):%b %Y}", 9, "l"),
        (80, 660, "Description", 9, "b"), (400, 660, "Qty", 9, "b"), (550, 660, "Amount AUD", 9, "rb")]
    y = 642.0
    for name, amount in items:
        texts += [(80, y, name, 9, "l"), (400, y, "1", 9, "l"), (550, y, en(amount), 9, "r")]
        y -= 16
    texts += [(380, y - 10, "Subtotal", 9, "l"), (550, y - 10, en(net), 9, "r"),
              (380, y - 24, "Total GST 10%", 9, "l"), (550, y - 24, en(gst), 9, "r"),
              (380, y - 38, "Invoice Total AUD", 9, "l"), (550, y - 38, en(net + gst), 9, "r"),
              (380, y - 52, "Less Amount Paid", 9, "l"), (550, y - 52, "0.00", 9, "r"),
              (380, y - 68, "AMOUNT DUE AUD", 10, "b"), (550, y - 68, en(net + gst), 10, "rb")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + gst, "currency": "AUD"}, False


def de_service(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"{rng.randint(100, 999)}/{issued.year}"
    net = _money(rng, 200, 9000)
    tax = _vat(net, "0.19")
    paid = (net / 2).quantize(CENT)
    served = issued - timedelta(days=rng.randint(3, 20))
    texts: list[Text] = [
        (50, 790, "Medizintechnik Service Ruhr GmbH & Co. KG", 13, "b"),
        (50, 776, "Westfalendamm 87, 44141 Dortmund", 8, "l"),
        (50, 730, f"Leistungsdatum: {served:%d.%m.%Y}", 9, "l"),
        (50, 716, f"Kunden-Nr.: {rng.randint(10000, 99999)}", 9, "l"),
        (330, 730, f"Rechnungs-Nr.: {number}", 9, "l"), (330, 716, f"Rechnungsdatum: {issued:%d.%m.%Y}", 9, "l"),
        (50, 680, "Rechnung", 14, "b"),
        (80, 640, "Wartung Beatmungsgerät inkl. Sicherheitstechnischer Kontrolle", 9, "l"),
        (550, 640, de(net) + " EUR", 9, "r"),
        (360, 590, "Nettobetrag", 9, "l"), (550, 590, de(net) + " EUR", 9, "r"),
        (360, 576, "Umsatzsteuer 19 %", 9, "l"), (550, 576, de(tax) + " EUR", 9, "r"),
        (360, 560, "Rechnungsbetrag", 10, "b"), (550, 560, de(net + tax) + " EUR", 10, "rb"),
        (360, 546, "Anzahlung bereits bezahlt", 9, "l"), (550, 546, de(paid) + " EUR", 9, "r"),
        (50, 500, "Bitte überweisen Sie den Rechnungsbetrag abzüglich der Anzahlung.", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, True


def us_telecom(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"PW-{rng.randint(100000, 999999)}"
    charges = _money(rng, 30, 700)
    texts: list[Text] = [
        (50, 790, "Pacific Wireless", 16, "b"), (50, 775, "PO Box 4410, Portland, OR 97208", 8, "l"),
        (50, 730, "Your monthly bill", 14, "b"),
        (50, 710, f"Bill Number: {number}", 9, "l"),
        (50, 696, f"Bill Date: {issued:%B} {issued.day}, {issued.year}", 9, "l"),
        (50, 682, f"Account: {rng.randint(10000000, 99999999)}", 9, "l"),
        (360, 640, "Previous balance", 9, "l"), (550, 640, "$0.00", 9, "r"),
        (360, 626, "New charges", 9, "l"), (550, 626, "$" + en(charges), 9, "r"),
        (360, 610, "Total Amount Due", 10, "b"), (550, 610, "$" + en(charges), 10, "rb"),
        (50, 560, f"AutoPay will charge your card on {issued + timedelta(days=21):%m/%d/%Y}.", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": charges, "currency": "USD"}, False


def fr_retail(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"{issued.year}-{rng.randint(1, 9999):04d}"
    gross = _money(rng, 20, 3000)
    net = (gross / Decimal("1.2")).quantize(CENT, rounding=ROUND_HALF_UP)
    texts: list[Text] = [
        (50, 790, "Pharmacie du Marché", 15, "b"), (50, 775, "3 place du Marché, 69002 Lyon", 8, "l"),
        (50, 740, f"Facture N° : {number}", 11, "b"),
        (50, 722, f"Lyon, le {issued.day} {_FR_MONTHS[issued.month - 1]} {issued.year}", 9, "l"),
        (80, 680, "Désignation", 9, "b"), (420, 680, "Qté", 9, "b"), (550, 680, "Montant TTC", 9, "rb"),
        (80, 664, "Tensiomètre électronique bras", 9, "l"), (420, 664, "1", 9, "l"), (550, 664, fr(gross), 9, "r"),
        (360, 620, "Montant HT", 9, "l"), (550, 620, fr(net) + " €", 9, "r"),
        (360, 606, "dont TVA 20 %", 9, "l"), (550, 606, fr(gross - net) + " €", 9, "r"),
        (360, 590, "Montant total TTC", 10, "b"), (550, 590, fr(gross) + " €", 10, "rb"),
        (50, 540, "Réglé par carte bancaire", 8, "l")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": gross, "currency": "EUR"}, True


def es_hosting(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"A{rng.randint(100000, 999999)}"
    net = _money(rng, 10, 1500)
    tax = _vat(net, "0.21")
    texts: list[Text] = [
        (50, 790, "Nube Mediterránea S.L.", 15, "b"), (50, 775, "Avinguda Diagonal 200, 08018 Barcelona", 8, "l"),
        (50, 740, "Factura", 16, "b"), (50, 720, f"Número de factura: {number}", 9, "l"),
        (50, 706, f"Fecha de emisión: {issued.day} de {_ES_MONTHS[issued.month - 1]} de {issued.year}", 9, "l"),
        (80, 660, "Servidor virtual 4 vCPU / 8 GB - mensual", 9, "l"), (550, 660, de(net) + " €", 9, "r"),
        (380, 610, "Base imponible", 9, "l"), (550, 610, de(net) + " €", 9, "r"),
        (380, 596, "IVA (21%)", 9, "l"), (550, 596, de(tax) + " €", 9, "r"),
        (380, 580, "Importe total", 10, "b"), (550, 580, de(net + tax) + " €", 10, "rb")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "EUR"}, False


def in_retail(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"MM{rng.randint(1000, 99999)}"
    net = Decimal(rng.randint(500, 90000))
    tax = _vat(net, "0.18")
    texts: list[Text] = [
        (50, 790, "Mumbai Medicals & Surgicals", 15, "b"), (50, 775, "Shop 4, Linking Road, Bandra West, Mumbai 400050",
                                                             8, "l"),
        (50, 763, "GSTIN: 27AABCM1234D1Z2", 8, "l"), (240, 730, "Tax Invoice", 14, "b"),
        (50, 700, f"Invoice No: {number}", 9, "l"), (330, 700, f"Date: {issued:%d/%m/%Y}", 9, "l"),
        (130, 650, "Pulse oximeter (HSN 9018)", 9, "l"), (550, 650, "Rs. " + indian(net), 9, "r"),
        (360, 600, "IGST @ 18%", 9, "l"), (550, 600, "Rs. " + indian(tax), 9, "r"),
        (360, 584, "Total Amount (Rs.)", 10, "b"), (550, 584, indian(net + tax), 10, "rb")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "INR"}, False


def sg_cloud(rng: random.Random, issued: date) -> tuple[list[Text], dict[str, Any], bool]:
    number = f"SG{issued:%y%m}-{rng.randint(100, 999)}"
    net = _money(rng, 50, 5000)
    tax = _vat(net, "0.09")
    texts: list[Text] = [
        (50, 790, "Merlion Cloud Pte. Ltd.", 15, "b"), (50, 775, "71 Robinson Road, Singapore 068895", 8, "l"),
        (50, 763, "GST Reg No: 201912345K", 8, "l"), (420, 790, "TAX INVOICE", 14, "b"),
        (360, 740, f"Invoice No    {number}", 9, "l"), (360, 726, f"Invoice Date    {issued:%d/%m/%Y}", 9, "l"),
        (80, 660, "Object storage and CDN, monthly", 9, "l"), (550, 660, "S$ " + en(net), 9, "r"),
        (380, 610, "Sub Total", 9, "l"), (550, 610, "S$ " + en(net), 9, "r"),
        (380, 596, "GST 9%", 9, "l"), (550, 596, "S$ " + en(tax), 9, "r"),
        (380, 580, "Total Payable", 10, "b"), (550, 580, "S$ " + en(net + tax), 10, "rb")]
    return texts, {"number": number, "issue_date": issued, "total_with_tax": net + tax, "currency": "SGD"}, False


_ES_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre"]


LAYOUTS: dict[str, Callable[[random.Random, date], tuple[list[Text], dict[str, Any], bool]]] = {
    "de-hosting": de_hosting, "de-retail": de_retail, "fr-telecom": fr_telecom, "fr-cloud": fr_cloud,
    "nl-hosting": nl_hosting, "nl-retail": nl_retail, "us-cloud": us_cloud, "gb-telecom": gb_telecom,
    "in-gst": in_gst, "es-retail": es_retail, "it-telecom": it_telecom, "ch-retail": ch_retail,
    "ee-hosting": ee_hosting, "au-saas": au_saas, "de-service": de_service, "us-telecom": us_telecom,
    "fr-retail": fr_retail, "es-hosting": es_hosting, "in-retail": in_retail, "sg-cloud": sg_cloud,
}


def foreign_layout_sample(layout: str, seed: int) -> ForeignSample:
    """One invoice of a layout; the issue date and the amounts come from the seed."""
    rng = random.Random(f"{layout}:{seed}")
    issued = date(2023, 1, 1) + timedelta(days=rng.randint(0, 900))
    texts, truth, helvetica = LAYOUTS[layout](rng, issued)
    return ForeignSample(f"{layout}-{seed:03d}", layout, render(texts, helvetica=helvetica), truth)


def foreign_corpus(per_layout: int = 3, seed: int = 0) -> list[ForeignSample]:
    """``per_layout`` invoices of every layout."""
    return [foreign_layout_sample(layout, seed * 1000 + i) for layout in LAYOUTS for i in range(per_layout)]

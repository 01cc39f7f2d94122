"""Electronic receipt (电子回单) PDFs, one per transaction.

Reimbursement and reconciliation archive the bank's receipt next to the voucher, so bots download
it per transaction; the layout follows the usual two-party receipt with amounts in figures and in
uppercase. The built-in CID font keeps the PDF small and needs no font file.
"""

from __future__ import annotations

import hashlib
import io

from reportlab.lib.pagesizes import A5, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from portals.bank.statements import BANK_NAME, BankAccount, Transaction
from portals.money import fen_to_uppercase, format_fen

_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(_FONT))


def receipt_code(txn: Transaction) -> str:
    """The receipt's verification code, stable per transaction."""
    return hashlib.sha256(f"receipt|{txn.txn_id}".encode()).hexdigest()[:16].upper()


def receipt_pdf(account: BankAccount, txn: Transaction) -> bytes:
    """Render one receipt; payer and payee swap sides depending on the direction of the money."""
    buffer = io.BytesIO()
    width, height = landscape(A5)
    pdf = canvas.Canvas(buffer, pagesize=(width, height))
    pdf.setTitle(f"电子回单 {txn.txn_id}")
    pdf.setAuthor(BANK_NAME)
    ours = (account.holder, account.number, account.branch)
    theirs = (txn.counterparty_name, txn.counterparty_account, txn.counterparty_bank)
    payer, payee = (theirs, ours) if txn.credit_fen else (ours, theirs)
    amount = txn.credit_fen or txn.debit_fen

    pdf.setFont(_FONT, 16)
    pdf.drawCentredString(width / 2, height - 40, f"{BANK_NAME}  电子回单")
    pdf.setFont(_FONT, 9)
    pdf.drawString(40, height - 62, f"回单编号：{txn.txn_id}")
    pdf.drawRightString(width - 40, height - 62, f"回单验证码：{receipt_code(txn)}")

    left, right, top, row = 40, width - 40, height - 72, 24
    rows = [
        ("付款人户名", payer[0], "收款人户名", payee[0]),
        ("付款人账号", payer[1], "收款人账号", payee[1]),
        ("付款人开户行", payer[2], "收款人开户行", payee[2]),
        ("金额（小写）", f"CNY {format_fen(amount)}", "金额（大写）", f"人民币{fen_to_uppercase(amount)}"),
        ("交易日期", txn.booked_at.strftime("%Y-%m-%d %H:%M:%S"), "交易流水号", txn.txn_id),
        ("摘要", txn.summary, "用途", txn.purpose),
    ]
    middle = (left + right) / 2
    pdf.setLineWidth(0.6)
    pdf.rect(left, top - row * len(rows), right - left, row * len(rows))
    pdf.line(middle, top, middle, top - row * len(rows))
    for i, (label_a, value_a, label_b, value_b) in enumerate(rows):
        y = top - row * (i + 1)
        if i:
            pdf.line(left, y + row, right, y + row)
        pdf.setFont(_FONT, 9)
        pdf.drawString(left + 5, y + 8, f"{label_a}：")
        pdf.drawString(middle + 5, y + 8, f"{label_b}：")
        pdf.setFont(_FONT, 9 if len(value_a) < 24 else 7)
        pdf.drawString(left + 75, y + 8, value_a)
        pdf.setFont(_FONT, 9 if len(value_b) < 24 else 7)
        pdf.drawString(middle + 75, y + 8, value_b)
    pdf.setFont(_FONT, 8)
    bottom = top - row * len(rows) - 18
    pdf.drawString(left, bottom, "本回单为电子回单，可通过回单验证码在网上银行验证真伪；重复打印无效。")
    pdf.drawRightString(right, bottom, f"记账机构：{account.branch}")
    pdf.setStrokeColorRGB(0.8, 0.1, 0.1)
    pdf.setFillColorRGB(0.8, 0.1, 0.1)
    pdf.circle(right - 60, bottom + 50, 32, stroke=1, fill=0)
    pdf.setFont(_FONT, 8)
    pdf.drawCentredString(right - 60, bottom + 52, "电子回单")
    pdf.drawCentredString(right - 60, bottom + 40, "专用章")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

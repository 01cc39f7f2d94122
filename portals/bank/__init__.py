"""Stand-in online banking portal (网上银行): statements in CSV/Excel/camt.053 and receipt PDFs."""

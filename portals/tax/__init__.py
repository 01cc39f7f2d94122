"""Stand-in VAT invoice verification portal (全国增值税发票查验平台)."""

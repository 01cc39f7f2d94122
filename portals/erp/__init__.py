"""Stand-in legacy ERP: voucher entry (会计凭证录入) with parallel budget accounting."""

"""The stand-in medical-insurance settlement portal (医保结算平台): monthly clearing files for download."""

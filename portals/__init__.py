"""Stand-in legacy web portals (ERP voucher entry, online bank, invoice verification).

They are demo and test targets for SmartFin's bots and deliberately behave like old systems:
server-side sessions that time out, CSRF tokens, iframes, confirm dialogs, slow paginated searches,
GBK downloads, a captcha a person must answer, and switchable faults. Start them with
`python -m portals` or, from tests, `portals.runner.start_portals`.
"""

"""The 13-week cash forecast (资金预测): opening balances from the bank statements, inflows and outflows learnt
from history or scheduled by dated rules, scenarios beside the base, a minimum-balance alert, and a backtest."""

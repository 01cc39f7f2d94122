"""Cash alerts (资金余额预警): a forecast that falls below the minimum balance asks the chief accountant to act or
to accept the risk, and records who decided what from the engine's history."""

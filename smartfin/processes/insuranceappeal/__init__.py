"""Insurance appeals (医保拒付扣款申诉): a department's refused and deducted items of a month go to its insurance
officer, who appeals each with an argument or accepts it before the appeal window closes; finance records what
the fund paid back per item, and the monthly reconciliation matches the recovery to the bank."""

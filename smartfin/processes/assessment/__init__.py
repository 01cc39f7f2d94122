"""Year-end entry of actual indicator values (绩效指标实际值填报) for the budget performance assessment: one
``budget-assessment`` process per department and fiscal year, a Tasklist task for the department's head."""

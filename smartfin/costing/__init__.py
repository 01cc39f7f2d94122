"""Cost accounting (成本核算) following the national rules for public hospitals: direct costs per cost centre
and month, step-down allocation, unit, service-item and case costs, and the indicators that open cost reviews.

``model`` holds the month's inputs and results as typed frames (pure, no database); ``compute`` works a month
out; the tables, imports and the month's run live beside them.
"""

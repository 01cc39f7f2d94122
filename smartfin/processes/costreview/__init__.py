"""Cost reviews (成本分析整改): a department whose cost indicator breaches its target explains it and commits to
a measure with a date; the finance officer accepts the answer or sends it back; the next month shows whether
the measure worked."""

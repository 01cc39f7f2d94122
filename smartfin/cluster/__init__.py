"""The production form on one machine or several: PostgreSQL, engine nodes, a balancer, addressed by settings.

``smartfin up --profile cluster`` starts what this package describes; on several hosts each host starts
the pieces whose addresses are its own (see ``is_local``), so only addresses change between the two.
"""

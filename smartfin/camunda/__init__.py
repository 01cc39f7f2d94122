"""Everything that speaks to the Camunda engine: REST client, variables, deployer, launcher, worker runtime.

Nothing here knows a business process; the processes' worker adapters register their topics on the
runtime's ``TopicRegistry``.
"""

"""Everything that speaks to the Camunda engine: REST client, variable encoding, launcher, deployer."""

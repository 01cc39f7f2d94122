"""Equipment procurement evaluation (设备购置论证): proposal, cost-benefit, committee vote, review."""

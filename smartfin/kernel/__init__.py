"""What every other part stands on: money, the hospital's clock, findings, the one settings object."""

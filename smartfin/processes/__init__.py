"""One package per business process: its tables, intake, worker adapter and CLI commands."""

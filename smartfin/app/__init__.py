"""The application: the CLI root, the stack of services, the demo, and the one place that wires
implementations together (``wiring``). Nothing in the core imports this package."""

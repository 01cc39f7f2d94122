"""The ``budget-compilation`` process (两上两下): who compiles for each department, the meetings' minutes, the
worker steps of the BPMN model and the commands that start and feed it."""

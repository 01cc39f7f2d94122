"""Where the project keeps its data: the database, the audit log, the document archive, migrations."""

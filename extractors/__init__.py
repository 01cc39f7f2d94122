"""extractors: documents in, typed records out.

Readers of documents with a layout of their own plug into the invoice entry point here, so that
``extract_invoice`` reads them without the invoice package depending on theirs.
"""

from extractors.travel.invoice import register as _register_travel

_register_travel()

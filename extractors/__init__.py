"""extractors: documents in, typed records out.

Readers of documents with a layout of their own (rail and air tickets, fiscal e-receipts) plug into the
invoice entry point here, so that ``extract_invoice`` reads them without the invoice package depending on
theirs (they build on its layout and model).
"""

from extractors.invoice.extract import OFD_READERS, TICKET_READERS
from extractors.invoice.pdf import PAGE_READERS
from extractors.receipts.fiscal import fiscal_ofd_reader, fiscal_page_reader
from extractors.travel.digital import digital_ticket_reader
from extractors.travel.invoice import register as _register_travel
from extractors.travel.pictures import register as _register_travel_pictures

_register_travel()
_register_travel_pictures()
PAGE_READERS.append(fiscal_page_reader)
OFD_READERS.append(fiscal_ofd_reader)
TICKET_READERS.append(digital_ticket_reader)

"""extractors

Readers of documents with a layout of their own register here with the invoice dispatcher, which does not
import them (they build on its layout and model).
"""

from extractors.invoice.extract import OFD_READERS
from extractors.invoice.pdf import PAGE_READERS
from extractors.receipts.fiscal import fiscal_ofd_reader, fiscal_page_reader

PAGE_READERS.append(fiscal_page_reader)
OFD_READERS.append(fiscal_ofd_reader)

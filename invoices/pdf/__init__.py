"""Document PDFs: rendered once after finalize, stored, and handed out by signed links.

A finalized document's PDF is what its customer received, so it is rendered exactly once
(the first render to be stored wins) and never again. Drafts are previewed on demand and
never stored. Links to stored PDFs are signed and expire, so they can travel by email
without an API token.

context builds what the template (invoices/templates/invoices/document.html) shows,
render turns it into HTML and PDF, storage stores it once and hands out signed links.
"""

"""dlt source that reads spaces, pages, blog posts, comments and attachments from Confluence."""

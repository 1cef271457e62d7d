"""Alert digests: building them from flagged articles, rendering (text, HTML, Markdown, Atom,
charts), delivering by mail and webhook, and the outbox that sends each article once."""

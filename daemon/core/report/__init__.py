"""Reports: figures from cases, rendered as text, CSV, JSON, HTML and the digest mail."""

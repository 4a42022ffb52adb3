"""Mail as data: reading what arrived (parse, quoting, bounces, loop policy) and composing what
goes out (templates, notices)."""

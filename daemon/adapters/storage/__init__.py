"""The store on disk: the durable case store and everything beside it (atomic writes and paths,
the archive, the request spool, the status and reload files, the intake marker)."""

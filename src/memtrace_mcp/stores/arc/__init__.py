"""The Arc backend: ``sql`` renders every literal Arc sees, ``client`` is the only code
that talks HTTP to Arc and the only place its failures become our errors."""

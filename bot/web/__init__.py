"""The HTTP side of Leadbot: the Starlette app of `leadbot serve` and its routes."""

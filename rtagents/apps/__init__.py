"""Applications built on the public API: the ``rtagents`` command, the demo and its agent."""

"""pytest plug-in of the contract kit (registered through the ``pytest11`` entry point)."""

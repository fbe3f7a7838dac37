"""pytest plugin: fixtures that start the offline X API sandbox (coming with the sandbox)."""

"""Public test helpers: fakes and scripted peers for testing code built on rtagents."""

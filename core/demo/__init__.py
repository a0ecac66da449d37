"""The demo: a seeded synthetic two-season scene written as real files, and its job."""

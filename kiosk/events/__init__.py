"""Events and their tag taxonomy."""

"""The dependency-shipping strategies, one module each, behind one interface."""

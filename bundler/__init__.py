"""lambundle's build machinery: project loading, lock, wheels, bytecode, archives, sandbox."""

__version__ = "0.1.0"

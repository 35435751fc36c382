"""What every subsystem shares: errors, progress reports, the target, the cache, interpreters."""

"""Who may use the platform: dashboard users and roles, and the append-only audit log (no graph code)."""

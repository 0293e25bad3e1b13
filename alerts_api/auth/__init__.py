"""Who may do what: roles with area scopes, and hashed API tokens (issue #20)."""

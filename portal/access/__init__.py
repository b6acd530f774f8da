"""Who may do what: the roles, object-level permissions (an authentication backend) and the admin
rights each role is given."""

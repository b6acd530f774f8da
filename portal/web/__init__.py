"""Web plumbing shared by every page: middleware, template context, health checks."""

"""The REST API for applicants' CI and tools: thin views over the portal's and scheduler's services."""

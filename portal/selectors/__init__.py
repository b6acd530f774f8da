"""Reads: what each role's pages show, each selector a fixed number of queries whatever the amount
of data, and the visibility rules list pages and the API share."""

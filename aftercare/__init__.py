"""Developer and operator tooling for Aftercare: the CLI, the embedded local stack, packaging.

Nothing here ships in the Lambda deployment package.
"""

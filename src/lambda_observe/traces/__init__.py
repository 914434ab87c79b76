"""Finding traces in X-Ray: queries beyond the console's 6-hour window, and reading whole traces back.

``lambda-observe traces find`` and ``lambda-observe traces show`` are built on this package. boto3 is
imported on first use only.
"""

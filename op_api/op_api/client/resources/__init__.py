"""One module per Open Payments resource, mirroring the official Node SDK's route groups."""

"""The tasks function: the tutorial's TaskDB on DynamoDB, optionally behind DAX (seed 000)."""

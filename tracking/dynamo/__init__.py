"""DynamoDB access for the tracking area: key layout, guarded calls, cursors."""

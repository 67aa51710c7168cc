"""Helpers behind the EC2 deployment in deploy/: user-data rendering, the environment file written
from Parameter Store, and fleet-wide locks for migrations and periodic jobs."""

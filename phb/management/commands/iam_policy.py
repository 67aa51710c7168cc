"""Print the EC2 instance role's policy, generated from the declared resources and settings."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from phb.aws.iam import PolicyError, PolicyInputs, instance_statements


class Command(BaseCommand):
    help = "Print the least-privilege IAM policy of the EC2 instance role (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--account-id", help="default: the caller's account (sts:GetCallerIdentity)")
        parser.add_argument("--efs-file-system-id", help="default: the stack's file system when DEPLOY_EFS_ENABLED")
        parser.add_argument("--explain", action="store_true", help="print each statement's reason instead")

    def handle(self, *args, account_id: str | None, efs_file_system_id: str | None, explain: bool, **options):
        from phb.aws.compute import efs_file_system_id as stack_efs

        try:
            inputs = PolicyInputs.from_settings(account_id=account_id,
                                                efs_file_system_id=efs_file_system_id or stack_efs())
            statements = instance_statements(inputs)
        except PolicyError as exc:
            raise CommandError(str(exc)) from exc
        if explain:
            for statement in statements:
                resources = statement.resources
                self.stdout.write(f"{statement.sid}: {statement.reason}")
                self.stdout.write(f"  actions:   {', '.join(sorted(set(statement.actions)))}")
                self.stdout.write(f"  resources: {', '.join(resources)}")
                if statement.condition:
                    self.stdout.write(f"  condition: {json.dumps(statement.condition)}")
            return
        policy = {"Version": "2012-10-17", "Statement": [s.as_json() for s in statements]}
        self.stdout.write(json.dumps(policy, indent=2))

"""AWS resources of the tracking area: the two DynamoDB tables (see ``tracking.dynamo.keys``).

``phb-user-sessions`` belongs to the medical-records area (``records/aws_resources.py``).
"""

from __future__ import annotations

from django.conf import settings

from phb.aws.provisioning import DynamoTable, GlobalIndex, Resource
from tracking.dynamo.keys import DATA_TYPE_INDEX, SEARCH_TERM_INDEX


def tracking_tags(data_type: str) -> dict[str, str]:
    return {**settings.AWS_RESOURCE_TAGS, "DataType": data_type, "Compliance": "HIPAA",
            "DataClassification": "PHI"}


def resources() -> list[Resource]:
    return [
        DynamoTable(
            name=settings.PREGNANCY_TRACKING_TABLE,
            partition_key=("pk", "S"),
            sort_key=("sk", "S"),
            indexes=[
                # Entries of one type over time, across users (population statistics, exports).
                # Sparse: only time-series entries carry data_type/ts; keys only, no health data.
                GlobalIndex(name=DATA_TYPE_INDEX, partition_key=("data_type", "S"), sort_key=("ts", "N"),
                            projection="KEYS_ONLY"),
            ],
            tags=tracking_tags("PregnancyTracking"),
        ),
        DynamoTable(
            name=settings.SEARCH_HISTORY_TABLE,
            partition_key=("pk", "S"),
            sort_key=("sk", "S"),
            indexes=[
                # Trending: one partition per UTC day, sorted by the case-folded term; keys only.
                GlobalIndex(name=SEARCH_TERM_INDEX, partition_key=("term_day", "S"), sort_key=("term_norm", "S"),
                            projection="KEYS_ONLY"),
            ],
            tags=tracking_tags("SearchHistory"),
        ),
    ]

"""``rest_framework.serializers`` with strict JSON fields: import this module instead of DRF's.

    from phb.api import serializers

    class BookingInput(serializers.Serializer):
        note = serializers.CharField()       # a JSON string, not 5
        count = serializers.IntegerField()   # a JSON integer, not "5" or true

The scalar fields are ``phb.api.fields``' strict ones (a value of another JSON type is a 400 naming
the field; forms and query strings are read as text, as DRF does); everything else is DRF's own.
``tests/api/test_strict_fields.py`` fails when an input module imports DRF's serializers directly.
"""

from rest_framework.serializers import (
    DictField,
    Field,
    FileField,
    JSONField,
    ListField,
    Serializer,
    SerializerMethodField,
    ValidationError,
    empty,
)

from phb.api.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    FloatField,
    IntegerField,
    RegexField,
    SlugField,
    TimeField,
    URLField,
    UUIDField,
)

__all__ = [
    "BooleanField", "CharField", "ChoiceField", "DateField", "DateTimeField", "DecimalField", "DictField",
    "EmailField", "Field", "FileField", "FloatField", "IntegerField", "JSONField", "ListField", "RegexField",
    "Serializer", "SerializerMethodField", "SlugField", "TimeField", "URLField", "UUIDField", "ValidationError",
    "empty", "validated",
]


def validated(serializer_class, data, **kwargs) -> dict:
    """``data`` checked by ``serializer_class`` (``kwargs`` go to its constructor, e.g. ``partial``):
    its validated data, or a 400 naming the first bad field (``phb.api.errors``)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data

import pytest

from tests.admissions.helpers import ward


@pytest.fixture
def general_ward(department):
    return ward(department, code="GEN-A", beds=3)


@pytest.fixture
def icu_ward(department):
    return ward(department, code="ICU-1", beds=1, ward_type="icu")

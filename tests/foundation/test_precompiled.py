"""phb.db.PrecompiledLookup gives exactly what the ORM gives, in one query."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from hospitals.selectors import user_with_primary_registration, users_with_primary_registration
from tests.factories import HospitalFactory, RegistrationFactory, UserFactory, make_patient


def _orm(user_id):
    return users_with_primary_registration().filter(pk=user_id).first()


@pytest.mark.django_db
def test_same_user_registration_and_hospital_as_the_orm():
    hospital = HospitalFactory(latitude="6.500000", longitude="3.350000")
    patient = make_patient(hospital=hospital, date_of_birth="1990-02-03", secondary_languages=["yoruba"])
    RegistrationFactory(user=patient, hospital=HospitalFactory(), is_primary=False)
    with CaptureQueriesContext(connection) as queries:
        fast = user_with_primary_registration(user_id=patient.pk)
    assert len(queries) == 1
    slow = _orm(patient.pk)
    assert model_to_dict(fast) == model_to_dict(slow)
    assert fast.date_joined == slow.date_joined and fast.secondary_languages == ["yoruba"]
    assert fast._primary_registration.pk == slow.primary_reg.pk
    assert fast._primary_registration.created_at == slow.primary_reg.created_at
    assert model_to_dict(fast._primary_registration.hospital) == model_to_dict(slow.primary_reg.hospital)


@pytest.mark.django_db
def test_user_without_primary_registration_and_unknown_ids():
    user = UserFactory()
    fast = user_with_primary_registration(user_id=user.pk)
    assert fast.pk == user.pk and fast._primary_registration is None
    assert user_with_primary_registration(user_id=str(user.pk)).pk == user.pk
    assert user_with_primary_registration(user_id=uuid.uuid4()) is None
    assert user_with_primary_registration(user_id="not-a-uuid") is None


# --- PrecompiledInsert ----------------------------------------------------------------------------

def _audit(**values):
    from records.models import AuditEvent

    base = {"actor_id": uuid.uuid4(), "actor_role": "doctor", "patient_id": uuid.uuid4(), "action": "read",
            "object_type": "medical_record", "object_id": "r-1", "request_id": "q-1", "ip_address": "2001:db8::1"}
    return AuditEvent(**{**base, **values})


@pytest.mark.django_db
def test_insert_writes_the_row_save_writes():
    from phb.db import PrecompiledInsert
    from records.models import AuditEvent

    insert = PrecompiledInsert(AuditEvent)
    for values in ({}, {"actor_id": None, "actor_role": "", "ip_address": None, "object_id": ""},
                   {"ip_address": "127.0.0.1", "object_type": "clinical_entry ✓"}):
        values = {"actor_id": uuid.uuid4(), "patient_id": uuid.uuid4(), **values}
        fast, slow = _audit(**values), _audit(**values)
        slow.id, slow.occurred_at = uuid.uuid4(), fast.occurred_at
        with CaptureQueriesContext(connection) as queries:
            assert insert.insert(fast) is fast
        assert len(queries) == 1 and queries[0]["sql"].startswith('INSERT INTO "records_auditevent"')
        slow.save()
        assert not fast._state.adding and fast._state.db == "default"
        stored = {row.pop("id"): row for row in AuditEvent.objects.filter(pk__in=[fast.pk, slow.pk]).values()}
        assert stored[fast.pk] == stored[slow.pk]
        assert stored[fast.pk]["occurred_at"] == fast.occurred_at and stored[fast.pk]["actor_id"] == fast.actor_id
    with pytest.raises(PermissionError):  # still append-only
        fast.save()
    with pytest.raises(ValueError):  # an instance already written
        insert.insert(fast)


@pytest.mark.django_db
def test_insert_runs_save_while_the_model_has_receivers():
    from django.db.models.signals import post_save

    from phb.db import PrecompiledInsert
    from records.models import AuditEvent

    seen = []

    def receiver(sender, instance, created, **_):
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=AuditEvent, dispatch_uid="test_precompiled_insert")
    try:
        event = PrecompiledInsert(AuditEvent).insert(_audit())
    finally:
        post_save.disconnect(dispatch_uid="test_precompiled_insert", sender=AuditEvent)
    assert seen == [(event.pk, True)] and AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_insert_in_a_transaction_marks_it_for_rollback():
    from django.db import IntegrityError, transaction
    from django.db.transaction import TransactionManagementError

    from phb.db import PrecompiledInsert
    from records.models import AuditEvent

    insert = PrecompiledInsert(AuditEvent)
    first = insert.insert(_audit())
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert.insert(_audit(id=first.pk))
        with pytest.raises(TransactionManagementError):  # as after a failed save(): nothing more in this block
            AuditEvent.objects.count()
    assert AuditEvent.objects.filter(action="read").count() == 1


def test_insert_refuses_models_whose_key_the_database_gives():
    from phb.db import PrecompiledInsert
    from storage.models import ClinicalGuideline

    with pytest.raises(ValueError):
        PrecompiledInsert(ClinicalGuideline)


# --- PrecompiledValues ----------------------------------------------------------------------------

def _bookmarks(**extra):
    from storage.models import GuidelineBookmark

    def build(user_id, ids):
        return GuidelineBookmark.objects.filter(user_id=user_id, is_active=True, guideline_id__any=ids, **extra) \
            .values_list("guideline_id", "notes")
    return build


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [{}, {"notes__startswith": "n"}])
def test_values_give_the_orm_rows_for_each_calls_keys(extra):
    """The kept SQL takes only the call's keys (the second shape has a parameter of its own, so it
    is never kept and goes the ORM's way): every caller gets her own rows, never the sentinel's or
    a previous caller's."""
    from phb.db import PrecompiledValues
    from storage.models import ClinicalGuideline, GuidelineBookmark

    hospital = HospitalFactory()
    author, first, second = UserFactory(role="doctor"), UserFactory(role="doctor"), UserFactory(role="doctor")
    guidelines = ClinicalGuideline.objects.bulk_create(
        ClinicalGuideline(organization=hospital, created_by=author, title=f"g{n}", category="surgery")
        for n in range(6))
    for user, picks in ((first, (0, 2, 4)), (second, (1, 2))):
        for n in picks:
            GuidelineBookmark.objects.create(user=user, guideline=guidelines[n], notes=f"n{n}-{user.pk}",
                                             is_active=n != 4)
    build = _bookmarks(**extra)
    kept = PrecompiledValues(build, sentinels=(uuid.UUID(int=0), [-1]))
    ids = [g.pk for g in guidelines]
    for user, some in ((first, ids), (second, ids), (first, ids[:3]), (second, ids[2:]), (first, ids[5:])):
        with CaptureQueriesContext(connection) as queries:
            got = kept.rows(user.pk, some)
        assert len(queries) == 1
        assert sorted(got) == sorted(build(user.pk, some))
    assert sorted(kept.rows(second.pk, ids)) == [(guidelines[1].pk, f"n1-{second.pk}"), (guidelines[2].pk, f"n2-{second.pk}")]
    compiled = kept._compiled("default")[1]
    assert bool(compiled) == (connection.vendor == "postgresql" and not extra)  # SQLite writes one IN parameter per id

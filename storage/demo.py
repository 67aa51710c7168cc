"""Demo clinical guidelines of the demo hospital, so that the guideline pages of the doctor and the
hospital admin show something under ``make run``: four text guidelines written by the demo doctor,
approved and published by the demo admin, and one waiting for the admin's review. Text only, so the
demo needs no file in S3. Idempotent (by title, within the hospital); called by ``seed_demo``."""

from __future__ import annotations

from accounts.models import User
from hospitals.models import Hospital
from storage import services
from storage.models import ClinicalGuideline, GuidelineCategory, GuidelinePriority

NOT_FOR_CLINICAL_USE = "Demo content of the PHB demo hospital; not for clinical use."

# (title, category, specialty, priority, keywords, published, text in Markdown)
DEMO_GUIDELINES = [
    ("Hand hygiene in clinical areas", GuidelineCategory.INFECTION_CONTROL, "Infection prevention",
     GuidelinePriority.HIGH, ["hand hygiene", "infection control"], True,
     "## The five moments\n\n"
     "Clean your hands:\n\n"
     "1. before touching a patient;\n"
     "2. before a clean or aseptic procedure;\n"
     "3. after a risk of exposure to body fluids;\n"
     "4. after touching a patient;\n"
     "5. after touching a patient's surroundings.\n\n"
     "## How\n\n"
     "- Alcohol-based hand rub for 20-30 seconds, until the hands are dry.\n"
     "- Soap and water for 40-60 seconds when hands are visibly soiled, and after caring for a "
     "patient with diarrhoea.\n"),
    ("Uncomplicated malaria: confirm, then treat", GuidelineCategory.TREATMENT, "General Medicine",
     GuidelinePriority.HIGH, ["malaria", "fever", "ACT"], True,
     "## Confirm\n\n"
     "Test every suspected case (rapid diagnostic test or microscopy) before treatment.\n\n"
     "## Treat\n\n"
     "- Uncomplicated malaria: an artemisinin-based combination therapy (ACT), as in the national "
     "treatment guideline.\n"
     "- Look for danger signs at every visit: impaired consciousness, convulsions, inability to drink, "
     "repeated vomiting, respiratory distress, jaundice. Any of them: treat as severe malaria and "
     "refer.\n"),
    ("Adult hypertension: diagnosis and follow-up", GuidelineCategory.CARDIOLOGY, "Cardiology",
     GuidelinePriority.MEDIUM, ["hypertension", "blood pressure"], True,
     "## Diagnosis\n\n"
     "- Measure seated, after five minutes of rest, with a cuff of the right size.\n"
     "- A reading of 140/90 mmHg or more is confirmed on at least two separate visits (or by home "
     "readings) before a diagnosis is recorded.\n\n"
     "## Follow-up\n\n"
     "- Assess cardiovascular risk and advise on salt, weight, activity and smoking.\n"
     "- Review within a month of starting or changing treatment.\n"),
    ("Sepsis: the first hour", GuidelineCategory.EMERGENCY, "Emergency Medicine",
     GuidelinePriority.CRITICAL, ["sepsis", "emergency"], True,
     "## Suspect sepsis\n\n"
     "In a patient with an infection, two or more of these call for an assessment for sepsis now: a "
     "respiratory rate of 22 or more, altered mentation, a systolic pressure of 100 mmHg or less.\n\n"
     "## Within the first hour\n\n"
     "1. Measure lactate.\n"
     "2. Take blood cultures before antibiotics.\n"
     "3. Give broad-spectrum antibiotics.\n"
     "4. Give 30 mL/kg of crystalloid for hypotension or a lactate of 4 mmol/L or more.\n"
     "5. Vasopressors if hypotension persists during or after fluids (mean arterial pressure of 65 mmHg "
     "or more).\n"),
    ("Fever in children under five: first assessment", GuidelineCategory.PEDIATRIC, "Paediatrics",
     GuidelinePriority.HIGH, ["fever", "children", "danger signs"], False,
     "## General danger signs\n\n"
     "Unable to drink or breastfeed, vomits everything, convulsions, lethargic or unconscious: urgent "
     "referral.\n\n"
     "## Then\n\n"
     "Test for malaria, and look for other causes of the fever.\n"),
]


def seed_guidelines(*, hospital: Hospital, author: User, reviewer: User) -> int:
    """The demo guidelines of ``hospital`` that were missing, created by ``author`` (a verified doctor
    there); the published ones approved and published by ``reviewer`` (its admin). Returns how many
    were created."""
    existing = set(ClinicalGuideline.objects.filter(organization=hospital, title__in=[g[0] for g in DEMO_GUIDELINES])
                   .values_list("title", flat=True))
    created = 0
    for title, category, specialty, priority, keywords, published, text in DEMO_GUIDELINES:
        if title in existing:
            continue
        guideline = services.guideline_create(author=author, data={
            "title": title, "description": NOT_FOR_CLINICAL_USE, "category": category, "specialty": specialty,
            "priority": priority, "keywords": keywords, "content_type": "text", "text_content": text,
        })
        if published:
            services.guideline_approve(guideline=guideline, by=reviewer)
            services.guideline_publish(guideline=guideline, by=reviewer)
        created += 1
    return created

"""Calibration forms: a project's thresholds and re-read rules, and choosing
training studies and hidden checks for reviewers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .models import CalibrationSettings, Membership, Project, Study

SETTINGS_FIELDS = list(CalibrationSettings.RULES)
PERCENT = "a percentage from 0 to 100"


class CalibrationSettingsForm(forms.ModelForm):
    class Meta:
        model = CalibrationSettings
        fields = SETTINGS_FIELDS
        error_messages = {
            "min_training_studies": {
                "min_value": "Ask for at least 1 training study.",
                "max_value": "Ask for 100 training studies or fewer.",
                "invalid": "Enter a whole number of training studies.",
            },
            "min_item_agreement": {
                "min_value": f"Item agreement is {PERCENT}.",
                "max_value": f"Item agreement is {PERCENT}.",
                "invalid": f"Enter item agreement as {PERCENT}, e.g. 80.",
            },
            "max_total_difference": {
                "min_value": "The difference is compared as a size: enter 0 or more.",
                "invalid": "Enter the largest mean difference as a number, e.g. 3.",
            },
            "reread_fraction": {
                "min_value": f"The share of studies re-read is {PERCENT}.",
                "max_value": f"The share of studies re-read is {PERCENT}.",
                "invalid": f"Enter the share re-read as {PERCENT}, e.g. 10.",
            },
            "reread_interval_days": {
                "min_value": "Re-read after 1 day at the earliest.",
                "max_value": "Re-read within a year (365 days) at the latest.",
                "invalid": "Enter the interval as a whole number of days, e.g. 28.",
            },
        }
        widgets = {
            "min_training_studies": forms.NumberInput(attrs={"min": 1, "max": 100}),
            "min_item_agreement": forms.NumberInput(
                attrs={"min": 0, "max": 100, "step": "0.01"}
            ),
            "reread_fraction": forms.NumberInput(
                attrs={"min": 0, "max": 100, "step": "0.01"}
            ),
            "reread_interval_days": forms.NumberInput(attrs={"min": 1, "max": 365}),
        }
        help_texts = {
            "reread_fraction": "0 switches re-reads off. Which studies is chosen "
            "at random; the reviewer is not told a study is a re-read of their own.",
            "reread_interval_days": "How long after the first submission a study "
            "may come back, so the first reading is not remembered.",
        }

    def __init__(self, *args: Any, unit: str | None, short_name: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if unit is None:
            # Nothing to compare: the instrument gives no total score.
            del self.fields["max_total_difference"]
        else:
            self.fields[
                "max_total_difference"
            ].label = f"Mean difference in the total at most ({unit})"
            self.fields["max_total_difference"].help_text = (
                f"Compared with the mean size of the difference from the "
                f"reference's total, in {unit} of {short_name}."
            )


def _reviewers(project: Project) -> QuerySet[Any]:
    reviewing = Membership.objects.filter(
        project=project, role__in=[Membership.Role.LEAD, Membership.Role.REVIEWER]
    )
    return (
        get_user_model()
        .objects.filter(pk__in=reviewing.values("user_id"), is_active=True)
        .order_by("first_name", "last_name", "username")
    )


class _PersonChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name().strip() or obj.get_username()


class _PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name().strip() or obj.get_username()


class _StudyLabels:
    """Studies named by title, those without a reference saying so: the
    service refuses them with the reason rather than the form hiding them."""

    referenced: Collection[int] = ()

    def label_from_instance(self, obj: Any) -> str:
        title = str(obj)
        return title if obj.pk in self.referenced else f"{title} (no reference yet)"


class _StudyChoices(_StudyLabels, forms.ModelMultipleChoiceField):
    pass


class _StudyChoice(_StudyLabels, forms.ModelChoiceField):
    pass


def _training(project: Project) -> QuerySet[Study]:
    return Study.objects.filter(
        project=project, training=True, excluded=False
    ).order_by("title")


class TrainingAssignForm(forms.Form):
    studies = _StudyChoices(
        queryset=Study.objects.none(),
        to_field_name="uuid",
        widget=forms.CheckboxSelectMultiple,
        label="Training studies",
        error_messages={
            "required": "Choose at least one training study.",
            "invalid_choice": "One of the chosen studies is not a training study "
            "of this project.",
            "invalid_pk_value": "One of the chosen studies is not a training study "
            "of this project.",
        },
    )
    reviewers = _PersonChoices(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        widget=forms.CheckboxSelectMultiple,
        label="Reviewers",
        error_messages={
            "required": "Choose at least one reviewer.",
            "invalid_choice": "One of the chosen people does not review in this "
            "project.",
        },
    )

    def __init__(
        self, *args: Any, project: Project, referenced: Collection[int], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        studies: Any = self.fields["studies"]
        studies.queryset = _training(project)
        studies.referenced = referenced
        people: Any = self.fields["reviewers"]
        people.queryset = _reviewers(project)


class HiddenCheckForm(forms.Form):
    study = _StudyChoice(
        queryset=Study.objects.none(),
        to_field_name="uuid",
        label="Gold study",
        empty_label="Choose a training study",
        error_messages={
            "required": "Choose the gold study to check with.",
            "invalid_choice": "That study is not a training study of this project.",
        },
    )
    reviewer = _PersonChoice(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        label="Reviewer",
        empty_label="Choose a reviewer",
        error_messages={
            "required": "Choose the reviewer to check.",
            "invalid_choice": "That person does not review in this project.",
        },
    )

    def __init__(
        self, *args: Any, project: Project, referenced: Collection[int], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        study: Any = self.fields["study"]
        study.queryset = _training(project)
        study.referenced = referenced
        person: Any = self.fields["reviewer"]
        person.queryset = _reviewers(project)

"""Calibration forms: a project's thresholds and re-read rules, and choosing
training studies and hidden checks for reviewers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import CalibrationSettings, Membership, Project, Study

SETTINGS_FIELDS = list(CalibrationSettings.RULES)


class CalibrationSettingsForm(forms.ModelForm):
    class Meta:
        model = CalibrationSettings
        fields = SETTINGS_FIELDS
        error_messages = {
            "min_training_studies": {
                "min_value": _("Ask for at least 1 training study."),
                "max_value": _("Ask for 100 training studies or fewer."),
                "invalid": _("Enter a whole number of training studies."),
            },
            "min_item_agreement": {
                "min_value": _("Item agreement is a percentage from 0 to 100."),
                "max_value": _("Item agreement is a percentage from 0 to 100."),
                "invalid": _(
                    "Enter item agreement as a percentage from 0 to 100, e.g. 80."
                ),
            },
            "max_total_difference": {
                "min_value": _(
                    "The difference is compared as a size: enter 0 or more."
                ),
                "invalid": _("Enter the largest mean difference as a number, e.g. 3."),
            },
            "reread_fraction": {
                "min_value": _(
                    "The share of studies re-read is a percentage from 0 to 100."
                ),
                "max_value": _(
                    "The share of studies re-read is a percentage from 0 to 100."
                ),
                "invalid": _(
                    "Enter the share re-read as a percentage from 0 to 100, e.g. 10."
                ),
            },
            "reread_interval_days": {
                "min_value": _("Re-read after 1 day at the earliest."),
                "max_value": _("Re-read within a year (365 days) at the latest."),
                "invalid": _("Enter the interval as a whole number of days, e.g. 28."),
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
            "reread_fraction": _(
                "0 switches re-reads off. Which studies is chosen at random; the "
                "reviewer is not told a study is a re-read of their own."
            ),
            "reread_interval_days": _(
                "How long after the first submission a study may come back, so the "
                "first reading is not remembered."
            ),
        }

    def __init__(self, *args: Any, unit: str | None, short_name: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if unit is None:
            # Nothing to compare: the instrument gives no total score.
            del self.fields["max_total_difference"]
        else:
            field = self.fields["max_total_difference"]
            field.label = gettext("Mean difference in the total at most (%(unit)s)") % {
                "unit": unit
            }
            field.help_text = gettext(
                "Compared with the mean size of the difference from the "
                "reference's total, in %(unit)s of %(instrument)s."
            ) % {"unit": unit, "instrument": short_name}


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
        if obj.pk in self.referenced:
            return title
        return gettext("%(title)s (no reference yet)") % {"title": title}


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
        label=_("Training studies"),
        error_messages={
            "required": _("Choose at least one training study."),
            "invalid_choice": _(
                "One of the chosen studies is not a training study of this project."
            ),
            "invalid_pk_value": _(
                "One of the chosen studies is not a training study of this project."
            ),
        },
    )
    reviewers = _PersonChoices(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        widget=forms.CheckboxSelectMultiple,
        label=_("Reviewers"),
        error_messages={
            "required": _("Choose at least one reviewer."),
            "invalid_choice": _(
                "One of the chosen people does not review in this project."
            ),
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
        label=_("Gold study"),
        empty_label=_("Choose a training study"),
        error_messages={
            "required": _("Choose the gold study to check with."),
            "invalid_choice": _("That study is not a training study of this project."),
        },
    )
    reviewer = _PersonChoice(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        label=_("Reviewer"),
        empty_label=_("Choose a reviewer"),
        error_messages={
            "required": _("Choose the reviewer to check."),
            "invalid_choice": _("That person does not review in this project."),
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

"""Forms: explicit fields, crispy-forms rendering, validation in one place."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from . import bibliography
from .models import InstrumentVersion, Membership, Project, Study

# The fields a study form edits are the fields an import reads.
STUDY_FIELDS = list(bibliography.STUDY_FIELDS)


class ProjectForm(forms.ModelForm):
    versions = forms.ModelMultipleChoiceField(
        queryset=InstrumentVersion.objects.published().select_related("instrument"),
        widget=forms.CheckboxSelectMultiple,
        label="Instrument versions",
        help_text="Published versions only; assessments pin the version they use.",
    )

    class Meta:
        model = Project
        fields = [
            "name",
            "slug",
            "description",
            "reviewers_per_study",
            "blinding",
            "percent_convention",
            "status",
        ]
        help_texts = {
            "slug": "Short name used in links, e.g. lung-radiomics-2026.",
            "blinding": "Reviewers see no co-reviewer's answers until all have "
            "submitted.",
            "percent_convention": "How RQS percentages are shown and reported.",
        }


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = STUDY_FIELDS
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2}),
            "abstract": forms.Textarea(attrs={"rows": 5}),
            "authors": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_doi(self) -> str:
        from .bibliography import normalise_doi

        return normalise_doi(self.cleaned_data.get("doi") or "")


class ImportForm(forms.Form):
    FORMAT_CHOICES = [
        ("", "Detect from the content"),
        ("ris", "RIS"),
        ("bibtex", "BibTeX"),
        ("medline", "PubMed MEDLINE (.nbib)"),
        ("pubmed-xml", "PubMed XML"),
        ("csv", "CSV"),
    ]
    file = forms.FileField(help_text="UTF-8, with or without a byte-order mark.")
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)


class ScoreImportForm(forms.Form):
    version = forms.ModelChoiceField(queryset=InstrumentVersion.objects.none())
    file = forms.FileField(
        help_text="The `score` spreadsheet format, plus a `reviewer` column "
        "(username); `id` is the study's DOI, PMID or UUID."
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = project.instruments.all()  # type: ignore[attr-defined]


class MemberForm(forms.Form):
    username = forms.CharField(help_text="An existing user's username or email.")
    role = forms.ChoiceField(choices=Membership.Role.choices)
    adjudicator = forms.BooleanField(required=False)

    def clean_username(self) -> Any:
        value = self.cleaned_data["username"].strip()
        users = get_user_model().objects
        user = (
            users.filter(username=value).first()
            or users.filter(email__iexact=value).first()
        )
        if user is None:
            raise forms.ValidationError(f"No user '{value}'. Create the account below.")
        return user


class NewAccountForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Membership.Role.choices)

    def clean_username(self) -> str:
        value: str = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username=value).exists():
            raise forms.ValidationError("That username is taken.")
        return value


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class AutoAssignForm(forms.Form):
    version = forms.ModelChoiceField(queryset=InstrumentVersion.objects.none())
    per_study = forms.IntegerField(min_value=1, max_value=10)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = project.instruments.all()  # type: ignore[attr-defined]
        self.fields["per_study"].initial = project.reviewers_per_study


class AssignForm(forms.Form):
    study = forms.UUIDField()
    version = forms.IntegerField()
    reviewer = forms.IntegerField()

"""Forms: explicit fields, crispy-forms rendering, validation in one place."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxLengthValidator
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import bibliography
from .models import (
    InstrumentVersion,
    Membership,
    NotificationPreferences,
    Project,
    Study,
)

# The fields a study form edits are the fields an import reads.
STUDY_FIELDS = list(bibliography.STUDY_FIELDS)


class ProjectForm(forms.ModelForm):
    versions = forms.ModelMultipleChoiceField(
        queryset=InstrumentVersion.objects.published().select_related("instrument"),
        widget=forms.CheckboxSelectMultiple,
        label=_("Instrument versions"),
        help_text=_("Published versions only; assessments pin the version they use."),
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
        # The model's own field names are English; labelled here so they translate.
        labels = {
            "name": _("Name"),
            "slug": _("Slug"),
            "description": _("Description"),
            "reviewers_per_study": _("Reviewers per study"),
            "blinding": _("Blinding"),
            "percent_convention": _("Percent convention"),
            "status": _("Status"),
        }
        help_texts = {
            "slug": _("Short name used in links, e.g. lung-radiomics-2026."),
            "blinding": _(
                "Reviewers see no co-reviewer's answers until all have submitted."
            ),
            "percent_convention": _("How RQS percentages are shown and reported."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A version the project uses stays listed after it is retired, so
            # saving other settings does not remove it.
            used = Q(projects=self.instance)
            field = self.fields["versions"]
            field.queryset = (  # type: ignore[attr-defined]
                InstrumentVersion.objects.filter(used | Q(status="published"))
                .select_related("instrument")
                .distinct()
            )
            more = gettext(
                "A version can be removed while no assessment in this project uses"
                " it; once used it stays, so no score changes behind a reviewer's"
                " back."
            )
            field.help_text = f"{field.help_text} {more}"
            self.initial.setdefault("versions", list(self.instance.instruments.all()))


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        # Whether a study trains reviewers is a lead's choice, never an import's.
        fields = [*STUDY_FIELDS, "training"]
        labels = {
            "title": _("Title"),
            "authors": _("Authors"),
            "year": _("Year"),
            "journal": _("Journal"),
            "abstract": _("Abstract"),
            "modality": _("Modality"),
            "clinical_task": _("Clinical task"),
            "method_track": _("Method track"),
            "sample_size": _("Sample size"),
        }
        help_texts = {
            "training": _(
                "Training studies calibrate reviewers against a reference "
                "answer. They are listed only for leads and never count in the "
                "review's dashboards, exports, agreement or reports."
            ),
        }
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2}),
            "abstract": forms.Textarea(attrs={"rows": 5}),
            "authors": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_doi(self) -> str:
        return bibliography.normalise_doi(self.cleaned_data.get("doi") or "")


class ImportForm(forms.Form):
    FORMAT_CHOICES = [
        ("", _("Detect from the content")),
        ("ris", "RIS"),
        ("bibtex", "BibTeX"),
        ("medline", "PubMed MEDLINE (.nbib)"),
        ("pubmed-xml", "PubMed XML"),
        ("csv", "CSV"),
    ]
    file = forms.FileField(
        label=_("File"), help_text=_("UTF-8, with or without a byte-order mark.")
    )
    format = forms.ChoiceField(
        label=_("Format"), choices=FORMAT_CHOICES, required=False
    )


class ScoreImportForm(forms.Form):
    version = forms.ModelChoiceField(
        label=_("Version"), queryset=InstrumentVersion.objects.none()
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "The `score` spreadsheet format, plus a `reviewer` column "
            "(username); `id` is the study's DOI, PMID or UUID."
        ),
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = project.instruments.all()  # type: ignore[attr-defined]


# Most people added to a project review; lead is the exception to choose.
DEFAULT_ROLE = Membership.Role.REVIEWER


class MemberForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), help_text=_("An existing user's username or email.")
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=DEFAULT_ROLE
    )
    adjudicator = forms.BooleanField(label=_("Adjudicator"), required=False)

    def clean_username(self) -> Any:
        value = self.cleaned_data["username"].strip()
        users = get_user_model().objects
        user = (
            users.filter(username=value).first()
            or users.filter(email__iexact=value).first()
        )
        if user is None:
            raise forms.ValidationError(
                gettext("No user '%(name)s'. Create the account below.")
                % {"name": value}
            )
        return user


def role_names() -> str:
    """The roles as the person's language names them, for error messages."""
    return ", ".join(str(label) for _value, label in Membership.Role.choices)


# The choice's label, and the words the error messages use for it.
REMOVE = _("Remove from project")


class MembershipChangeForm(forms.Form):
    """One row of the members table: a new role, or "" to remove the member."""

    membership = forms.ModelChoiceField(
        queryset=Membership.objects.none(),
        error_messages={
            "required": _("Say which member to change."),
            "invalid_choice": _("That person is not a member of this project."),
        },
    )
    role = forms.ChoiceField(
        choices=[*Membership.Role.choices, ("", REMOVE)],
        required=False,
    )
    adjudicator = forms.BooleanField(required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The role names in the person's language; %(value)s is left for the
        # field to fill with what was sent.
        self.fields["role"].error_messages["invalid_choice"] = gettext(
            "'%(value)s' is not a role; choose %(roles)s, or Remove from project."
        ) % {"value": "%(value)s", "roles": role_names()}
        self.fields["membership"].queryset = project.memberships.select_related(  # type: ignore[attr-defined]
            "user"
        )

    def clean_role(self) -> str | None:
        # The form always sends the field ("" means remove): a request
        # without it is not a request to remove the member.
        if "role" not in self.data:
            raise forms.ValidationError(
                gettext("Choose a role (%(roles)s) or Remove from project.")
                % {"roles": role_names()}
            )
        return self.cleaned_data["role"] or None

    def problems(self) -> str:
        return " ".join(str(m) for errors in self.errors.values() for m in errors)


User = get_user_model()
USERNAME = User._meta.get_field("username")


def _username_help() -> str:
    return gettext(
        "Letters, digits and @ . + - _ only, at most %(count)d characters, "
        "starting with a letter or digit."
    ) % {"count": USERNAME.max_length}


class NewAccountForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=USERNAME.max_length,
        # The User model's own rules (letters, digits and @ . + - _); its
        # length check is max_length's.
        validators=[
            v for v in USERNAME.validators if not isinstance(v, MaxLengthValidator)
        ],
        help_text=lazy(_username_help, str)(),
    )
    email = forms.EmailField(
        label=_("Email"), help_text=_("A link to choose a password is sent here.")
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=DEFAULT_ROLE
    )

    def clean_username(self) -> str:
        value: str = self.cleaned_data["username"]
        if not value[:1].isalnum():
            # Usernames appear in spreadsheets, where = + - @ start a formula.
            raise forms.ValidationError(
                gettext("Start the username with a letter or digit.")
            )
        if User.objects.filter(username__iexact=value).exists():
            raise forms.ValidationError(gettext("That username is taken."))
        return value

    def clean_email(self) -> str:
        value: str = self.cleaned_data["email"]
        if User.objects.filter(email__iexact=value).exists():
            raise forms.ValidationError(
                gettext(
                    "An account with this e-mail exists; add it with 'Add an "
                    "existing user'."
                )
            )
        return value


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class AutoAssignForm(forms.Form):
    version = forms.ModelChoiceField(
        label=_("Version"), queryset=InstrumentVersion.objects.none()
    )
    per_study = forms.IntegerField(label=_("Per study"), min_value=1, max_value=10)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = project.instruments.all()  # type: ignore[attr-defined]
        self.fields["per_study"].initial = project.reviewers_per_study


class AssignForm(forms.Form):
    study = forms.UUIDField()
    version = forms.IntegerField()
    reviewer = forms.IntegerField()


class NotificationForm(forms.ModelForm):
    class Meta:
        model = NotificationPreferences
        fields = ["assigned", "reopened", "consensus_needed", "report_ready"]


BULK_ACTIONS = [
    ("assign", _("Assign reviewers")),
    ("exclude", _("Exclude")),
    ("include", _("Include again")),
]


class BulkStudyForm(forms.Form):
    """The study list's bulk actions: chosen studies, what to do, its details."""

    studies = forms.TypedMultipleChoiceField(
        label=_("Studies"),
        coerce=str,
        error_messages={"required": _("Tick at least one study first.")},
    )
    action = forms.ChoiceField(
        label=_("Action"),
        choices=BULK_ACTIONS,
        error_messages={"required": _("Choose what to do with the ticked studies.")},
    )
    version = forms.ModelChoiceField(
        label=_("Version"), queryset=InstrumentVersion.objects.none(), required=False
    )
    per_study = forms.IntegerField(
        min_value=1, max_value=10, required=False, label=_("Reviewers per study")
    )
    reviewer = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("Or this reviewer")
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        if self.is_bound:  # the page itself needs no list of every study
            self.fields["studies"].choices = [  # type: ignore[attr-defined]
                (str(u), str(u)) for u in project.studies.values_list("uuid", flat=True)
            ]
        self.fields["studies"].error_messages["invalid_choice"] = gettext(
            "One of the ticked studies is no longer in this project; reload the "
            "list and try again."
        )
        self.fields["version"].queryset = project.instruments.select_related(  # type: ignore[attr-defined]
            "instrument"
        )
        self.fields["reviewer"].queryset = self.reviewers_of(project)  # type: ignore[attr-defined]

    @staticmethod
    def reviewers_of(project: Project) -> Any:
        """Members who may review: the leads and the reviewers."""
        return User.objects.filter(
            memberships__project=project,
            memberships__role__in=[Membership.Role.LEAD, Membership.Role.REVIEWER],
        ).order_by("username")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "assign":
            if data.get("version") is None:
                versions = list(self.fields["version"].queryset)  # type: ignore[attr-defined]
                if len(versions) != 1:
                    raise forms.ValidationError(
                        gettext("Choose the instrument to assign.")
                    )
                data["version"] = versions[0]
            if not data.get("per_study") and data.get("reviewer") is None:
                raise forms.ValidationError(
                    gettext(
                        "Say how many reviewers each study needs, or choose a reviewer."
                    )
                )
        if action == "exclude" and not (data.get("reason") or "").strip():
            raise forms.ValidationError(
                gettext("Give a reason for excluding the studies.")
            )
        return data

    def problems(self) -> str:
        return " ".join(str(m) for errors in self.errors.values() for m in errors)

"""Write endpoints: studies (one, or a file imported all or nothing),
assignments, answers (the autosave's service, revision check and 409) and
submit. Every write that goes through is in the project's audit log."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import access
from ..forms import ImportForm, StudyForm
from ..models import Assessment, Project
from ..selectors.audit import version_name
from ..services import answering, assignment, calibration, imports, quotes, studies
from . import inputs, read
from .base import ApiView, audit, project_for

# The multipart framing and the `format` field come on top of the file.
FORM_ALLOWANCE = 64 * 1024

REFUSED = OpenApiResponse(inputs.Refused, description="Refused, in plain words.")
NOT_FOUND = OpenApiResponse(
    inputs.Refused, description="Not a member, or outside the token's projects."
)
FORBIDDEN = OpenApiResponse(
    inputs.Refused, description="Your role, or a read-only token, does not allow it."
)


def _limit_text() -> str:
    limit = int(settings.UPLOAD_MAX_BYTES)
    if limit < 2**20:
        return f"{limit:,} bytes"
    return f"{round(limit / 2**20, 1):g} MB"


def _too_large() -> Response:
    return Response(
        {
            "detail": f"The file is larger than the upload limit of {_limit_text()}. "
            "Split it into smaller files and import them one after the other."
        },
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _declared_size(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class Studies(read.StudyList):
    @extend_schema(
        operation_id="projects_studies_create",
        summary="Add a study, or import a file of studies",
        description="A JSON body adds one study, checked like the study form. "
        "A multipart body with `file` imports a bibliography or CSV all or "
        "nothing: any record with a problem and no study is created. Leads only.",
        request={
            "application/json": inputs.StudyInput,
            "multipart/form-data": inputs.ImportInput,
        },
        responses={
            201: PolymorphicProxySerializer(
                component_name="StudyAdded",
                serializers=[inputs.StudyCreated, inputs.ImportResult],
                resource_type_field_name=None,
            ),
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="StudyRefused",
                    serializers=[inputs.Refused, inputs.ImportRefused],
                    resource_type_field_name=None,
                ),
                description="The study's fields, or every problem of the file.",
            ),
            403: FORBIDDEN,
            404: NOT_FOUND,
            413: OpenApiResponse(inputs.Refused, description="The file is too large."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug, access.Action.MANAGE)
        if (request.content_type or "").startswith("multipart/"):
            return self._import(request, project)
        return self._add(request, project)

    def _add(self, request: Request, project: Project) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationError("Send one study as a JSON object.")
        form = StudyForm(data=request.data)
        labels = {name: str(field.label) for name, field in form.fields.items()}
        unknown = sorted(set(request.data) - set(form.fields))
        if unknown:
            raise ValidationError(
                f"Unknown study field(s): {', '.join(unknown)}. The fields are: "
                f"{', '.join(form.fields)}."
            )
        if form.is_valid():
            try:
                with transaction.atomic():
                    study = studies.add_study(
                        project=project,
                        study=form.save(commit=False),
                        user=request.user,
                    )
                    audit(request, project, "api-study-add", str(study))
            except ValidationError as exc:
                duplicate = getattr(exc, "code", None) == "duplicate"
                form.add_error("title" if duplicate else None, exc)
            else:
                out = inputs.StudyCreated(study).data
                return Response(out, status=status.HTTP_201_CREATED)
        body = inputs.refused(form.errors, {**labels, "__all__": "Study"})
        body["detail"] = "The study was not added. " + body["detail"]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    def _import(self, request: Request, project: Project) -> Response:
        if _declared_size(request) > int(settings.UPLOAD_MAX_BYTES) + FORM_ALLOWANCE:
            return _too_large()
        form = ImportForm(request.data, request.FILES)
        if not form.is_valid():
            body = inputs.refused(form.errors)
            body["detail"] = "Nothing was imported. " + body["detail"]
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        upload = form.cleaned_data["file"]
        if upload.size > settings.UPLOAD_MAX_BYTES:
            return _too_large()
        with transaction.atomic():
            report = imports.import_studies(
                project=project,
                data=upload.read(),
                fmt=form.cleaned_data["format"] or None,
                user=request.user,
            )
            if report.ok:
                audit(
                    request,
                    project,
                    "api-import-studies",
                    "",
                    {"created": report.created},
                )
        if not report.ok:
            n = len(report.problems)
            shown = "; ".join(report.problems[:5])
            more = f" (and {n - 5} more)" if n > 5 else ""
            return Response(
                {
                    "detail": f"Nothing was imported: the file has {n} "
                    f"problem{'' if n == 1 else 's'}. {shown}{more}.",
                    "problems": report.problems,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        out = inputs.ImportResult(
            {
                "created": report.created,
                "format": report.format,
                "duplicates": [
                    {
                        "record": record.index,
                        "title": str(record.fields.get("title") or ""),
                        "reason": reason,
                    }
                    for record, reason in report.duplicates
                ],
            }
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


class Assignments(ApiView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="projects_assignments_create",
        summary="Assign a reviewer to a study",
        description="The same checks as the study page: conflicts of interest, "
        "excluded studies, independence. Warnings (an uncertified reviewer, "
        "ratings marked not independent) come back in `warnings`. Leads only.",
        request=inputs.AssignmentInput,
        responses={
            201: inputs.AssignmentMade,
            400: REFUSED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug, access.Action.MANAGE)
        body = inputs.AssignmentInput(data=request.data)
        if not body.is_valid():
            return Response(inputs.refused(body.errors), status=400)
        d = body.validated_data
        study = project.studies.filter(uuid=d["study"]).first()
        version = next(
            (
                v
                for v in project.instruments.select_related("instrument")
                if v.key == d["version"]
            ),
            None,
        )
        reviewer = (
            # Only members are looked up: a lead learns nothing of other accounts.
            get_user_model()
            .objects.filter(username=d["reviewer"], memberships__project=project)
            .first()
        )
        unknown = [
            text
            for missing, text in (
                (study is None, f"No study {d['study']} in this project."),
                (
                    version is None,
                    f"This project does not use the instrument version "
                    f"'{d['version']}'.",
                ),
                (
                    reviewer is None,
                    f"'{d['reviewer']}' is not a member of this project.",
                ),
            )
            if missing
        ]
        if unknown:
            raise ValidationError(unknown)
        assert study is not None and version is not None and reviewer is not None
        with transaction.atomic():
            made = assignment.assign_reviewer(
                study=study,
                version=version,
                reviewer=reviewer,
                user=request.user,
                reason=d["reason"],
            )
            audit(
                request,
                project,
                "api-assign",
                str(study),
                {"reviewer": reviewer.get_username(), "version": version.key},
            )
        warnings = [calibration.certification_warning(project, version, reviewer)]
        if made.not_independent_reason:
            warnings.append(
                f"{reviewer} may already have seen other reviewers' answers on this "
                "study: their ratings are marked as not independent and left out "
                "of agreement figures."
            )
        out = inputs.AssignmentMade(
            {
                "assessment": made.uuid,
                "study": study.uuid,
                "version": version.key,
                "reviewer": reviewer.get_username(),
                "status": made.status,
                "status_label": made.get_status_display(),
                "not_independent": bool(made.not_independent_reason),
                "warnings": [w for w in warnings if w],
            }
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


def _editable(request: Request, uuid_: uuid.UUID, verb: str) -> Assessment:
    found = access.get_own_assessment(request.user, uuid_)
    if not access.may_edit(request.user, found):
        raise PermissionDenied(f"You can only {verb} your own assessment.")
    return found


def _answer_input(item: str, d: dict[str, Any]) -> answering.AnswerInput:
    given = d.get("quotes")
    return answering.AnswerInput(
        item_code=item,
        choices=d["choices"],
        evidence=d["evidence"],
        page=d["page"].strip(),
        comment=d["comment"],
        # The page's parser checks each quote; it reads the form's JSON text.
        quotes=None if given is None else quotes.parse_quotes(json.dumps(given), item),
    )


def _certification_warnings(assessment: Assessment, user: Any) -> list[str]:
    if assessment.kind != Assessment.Kind.REVIEWER or assessment.reviewer_id != user.pk:
        return []
    skip = calibration.uncertified(assessment.study.project, assessment.version)
    if skip is None or user.pk not in skip:
        return []
    return [
        f"You are not yet certified for {version_name(assessment.version)} in this "
        "project; your answer is saved and counts in the review."
    ]


LOCKED = "This assessment is submitted; ask the lead to reopen it."


class Answer(ApiView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="assessments_answers_update",
        summary="Save one item's answer",
        description="The autosave of the assessment form: send the revision of "
        "the answer you last saw (0 for a new one). A stale revision gets 409 "
        "with the newer answer, which is kept; a submitted assessment gets 409.",
        request=inputs.AnswerInput,
        responses={
            200: inputs.AnswerSaved,
            400: REFUSED,
            403: FORBIDDEN,
            404: OpenApiResponse(inputs.Refused, description="No such assessment."),
            409: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="AnswerConflict",
                    serializers=[inputs.StaleAnswer, inputs.Refused],
                    resource_type_field_name=None,
                ),
                description="Changed elsewhere since your revision (with "
                "`current`), or the assessment is submitted.",
            ),
        },
        examples=[
            OpenApiExample(
                "RQS item 1",
                value={
                    "choices": ["documented"],
                    "evidence": "Methods, imaging protocol",
                    "page": "3",
                    "comment": "",
                    "revision": 0,
                },
                request_only=True,
            )
        ],
    )
    def put(self, request: Request, assessment: uuid.UUID, item: str) -> Response:
        found = _editable(request, assessment, "change")
        body = inputs.AnswerInput(data=request.data)
        if not body.is_valid():
            return Response(inputs.refused(body.errors), status=400)
        d = body.validated_data
        data = _answer_input(item, d)
        try:
            with transaction.atomic():
                outcome = answering.save_answer(
                    assessment=found,
                    user=request.user,
                    data=data,
                    seen_revision=d["revision"],
                )
                audit(
                    request,
                    found.study.project,
                    "api-answer",
                    str(found.study),
                    {"item": item},
                )
        except answering.LockedAssessment:
            return Response({"detail": LOCKED}, status=status.HTTP_409_CONFLICT)
        except answering.StaleSave as exc:
            return Response(
                {"detail": str(exc), "current": inputs.answer_output(exc.answer)},
                status=status.HTTP_409_CONFLICT,
            )
        result, saved = outcome.result, outcome.answer
        out = inputs.AnswerSaved(
            {
                "saved": True,
                "item": saved.item_code,
                "revision": saved.revision,
                "status": outcome.assessment.status,
                "answer": inputs.answer_output(saved),
                "score": inputs.score_output(result),
                "missing": list(result.missing),
                "problems": [p.text or p.message for p in result.problems],
                "warnings": _certification_warnings(found, request.user),
            }
        )
        return Response(out.data)


class Submit(ApiView):
    @extend_schema(
        operation_id="assessments_submit",
        summary="Submit an assessment",
        description="Checks that every item is answered and the instrument's "
        "rules hold, then locks the assessment. Nothing is needed in the body.",
        request=None,
        responses={
            200: inputs.Submitted,
            400: OpenApiResponse(
                inputs.SubmitRefused, description="What is missing, in plain words."
            ),
            403: FORBIDDEN,
            404: OpenApiResponse(inputs.Refused, description="No such assessment."),
            409: OpenApiResponse(inputs.Refused, description="Already submitted."),
        },
    )
    def post(self, request: Request, assessment: uuid.UUID) -> Response:
        found = _editable(request, assessment, "submit")
        try:
            with transaction.atomic():
                result = answering.submit_assessment(
                    assessment=found, user=request.user
                )
                audit(request, found.study.project, "api-submit", str(found.study))
        except answering.LockedAssessment as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            now = answering.score_assessment(found, answering.answers_of(found))
            return Response(
                {
                    "detail": "Not submitted: " + " ".join(exc.messages),
                    "missing": exc.messages,
                    "items": list(now.missing),
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        out = inputs.Submitted(
            {
                "submitted": True,
                "status": Assessment.Status.SUBMITTED,
                "score": inputs.score_output(result),
            }
        )
        return Response(out.data)

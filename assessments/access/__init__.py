"""The one place that decides who may see and do what.

The rules live in `policy` (roles, token scope, blinding), `calibration`
(references and training studies) and `files` (papers and stored reports);
everything is imported from here, `access.allows(...)`.

Every view, export, report, JSON endpoint, dashboard and command asks here. A
non-member gets 404 (no hint that the object exists); a member whose role
does not allow the action gets 403.

Blinding is per study, across every instrument version of the project:

- Anyone with a reviewer assessment of study S that they have never submitted
  sees nothing of anyone else's work on S (answers, evidence, scores,
  consensus, results, figures), whatever their other roles.
- With nothing pending on S, a reviewer of S sees the others' work on S in
  version V once every assigned reviewer of S in V has submitted at least
  once (reopening does not blind again).
- Leads and staff who do not review S see all of it; adjudicators who are not
  leads see individual answers only after that unblinding; reviewers not
  assigned to S and observers see only S's final (consensus) result.
- Per-reviewer figures (leniency) are for leads and staff only.

With blinding switched off for a project the waiting rules are off; observers
and unassigned reviewers still see final results only.

Calibration work (training, hidden check, re-read) is no assigned reviewer: it
never waits for or re-blinds anyone. Others' work on training studies, and
others' calibration, is for leads and staff not training on the study; a
trainee sees the reference only after submitting (`may_see_reference`). While
a re-read of S is open its reviewer sees nothing on S, not even their own
earlier assessment.
"""

from .calibration import (
    calibration_reviewers,
    may_see_reference,
    may_see_study_reference,
    sees_training_studies,
)
from .files import (
    get_paper,
    may_download,
    may_upload_paper,
    report_scope,
)
from .policy import (
    ALLOWED,
    CONSENSUS,
    REREAD,
    REVIEWER,
    SAFE_METHODS,
    SUBMITTED,
    TRAINING,
    Action,
    AnyUser,
    allows,
    can_see_assessment,
    comparable_studies,
    could_see_others,
    get_own_assessment,
    get_project,
    get_study,
    lock_own_assessment,
    may_compare,
    may_edit,
    membership,
    newly_unblinded,
    own_other_assessments,
    pending_studies,
    result_filter,
    reviewers_visible,
    sees_everyones_progress,
    sees_per_reviewer_figures,
    token_permits,
    token_projects,
    visible_assessments,
    visible_projects,
)

__all__ = [
    "ALLOWED",
    "CONSENSUS",
    "REREAD",
    "REVIEWER",
    "SAFE_METHODS",
    "SUBMITTED",
    "TRAINING",
    "Action",
    "AnyUser",
    "allows",
    "calibration_reviewers",
    "can_see_assessment",
    "comparable_studies",
    "could_see_others",
    "get_own_assessment",
    "get_paper",
    "get_project",
    "get_study",
    "lock_own_assessment",
    "may_compare",
    "may_download",
    "may_edit",
    "may_see_reference",
    "may_see_study_reference",
    "may_upload_paper",
    "membership",
    "newly_unblinded",
    "own_other_assessments",
    "pending_studies",
    "report_scope",
    "result_filter",
    "reviewers_visible",
    "sees_everyones_progress",
    "sees_per_reviewer_figures",
    "sees_training_studies",
    "token_permits",
    "token_projects",
    "visible_assessments",
    "visible_projects",
]

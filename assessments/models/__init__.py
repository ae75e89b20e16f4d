from .assessments import CALIBRATION_KINDS, Answer, Assessment, Resolution
from .calibration import (
    CalibrationSettings,
    Certification,
    Drill,
    DrillAttempt,
    Reference,
)
from .crosswalk import Crosswalk
from .identity import ExternalIdentity
from .instruments import Condition, Instrument, InstrumentVersion, Item, Option, Section
from .outputs import DashboardSnapshot, Report
from .papers import Paper, PaperFinding, PaperText
from .preferences import (
    LanguagePreference,
    NotificationPreferences,
    ReadingPreferences,
)
from .projects import (
    AuditEvent,
    ConflictOfInterest,
    Membership,
    Project,
    ProjectInstrument,
    ReviewerCode,
    Study,
)
from .tokens import ApiToken

__all__ = [
    "CALIBRATION_KINDS",
    "Answer",
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "CalibrationSettings",
    "Certification",
    "Condition",
    "ConflictOfInterest",
    "Crosswalk",
    "DashboardSnapshot",
    "Drill",
    "DrillAttempt",
    "ExternalIdentity",
    "Instrument",
    "InstrumentVersion",
    "Item",
    "LanguagePreference",
    "Membership",
    "NotificationPreferences",
    "Option",
    "Paper",
    "PaperFinding",
    "PaperText",
    "Project",
    "ProjectInstrument",
    "ReadingPreferences",
    "Reference",
    "Report",
    "Resolution",
    "ReviewerCode",
    "Section",
    "Study",
]

from .assessments import Answer, Assessment, Resolution
from .instruments import Condition, Instrument, InstrumentVersion, Item, Option, Section
from .outputs import DashboardSnapshot, Report
from .papers import Paper, PaperFinding, PaperText
from .preferences import NotificationPreferences, ReadingPreferences
from .projects import (
    AuditEvent,
    ConflictOfInterest,
    Membership,
    Project,
    ProjectInstrument,
    Study,
)

__all__ = [
    "Answer",
    "Assessment",
    "AuditEvent",
    "Condition",
    "ConflictOfInterest",
    "DashboardSnapshot",
    "Instrument",
    "InstrumentVersion",
    "Item",
    "Membership",
    "NotificationPreferences",
    "Option",
    "Paper",
    "PaperFinding",
    "PaperText",
    "Project",
    "ProjectInstrument",
    "ReadingPreferences",
    "Report",
    "Resolution",
    "Section",
    "Study",
]

from .assessments import Answer, Assessment, Resolution
from .instruments import Condition, Instrument, InstrumentVersion, Item, Option, Section
from .outputs import DashboardSnapshot, Report
from .preferences import NotificationPreferences
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
    "Project",
    "ProjectInstrument",
    "Report",
    "Resolution",
    "Section",
    "Study",
]

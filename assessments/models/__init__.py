from .assessments import Answer, Assessment, Resolution
from .instruments import Condition, Instrument, InstrumentVersion, Item, Option, Section
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
    "Instrument",
    "InstrumentVersion",
    "Item",
    "Membership",
    "Option",
    "Project",
    "ProjectInstrument",
    "Resolution",
    "Section",
    "Study",
]

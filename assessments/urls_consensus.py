"""Consensus and agreement routes; included from assessments.urls."""

from django.urls import path

from .views import consensus

CONSENSUS = "p/<slug:slug>/s/<uuid:uuid>/consensus/<str:version_key>/"

urlpatterns = [
    path(CONSENSUS, consensus.consensus_view, name="consensus-view"),
    path(f"{CONSENSUS}start", consensus.consensus_start, name="consensus-start"),
    path(f"{CONSENSUS}resolve", consensus.consensus_resolve, name="consensus-resolve"),
    path(
        f"{CONSENSUS}finalise", consensus.consensus_finalise, name="consensus-finalise"
    ),
    path(f"{CONSENSUS}refresh", consensus.consensus_refresh, name="consensus-refresh"),
    path(f"{CONSENSUS}discard", consensus.consensus_discard, name="consensus-discard"),
    path(
        f"{CONSENSUS}adopt-quote",
        consensus.consensus_adopt_quote,
        name="consensus-adopt-quote",
    ),
    path(
        "p/<slug:slug>/agreement/",
        consensus.project_agreement,
        name="project-agreement",
    ),
    path(
        "p/<slug:slug>/agreement.json",
        consensus.project_agreement_json,
        name="project-agreement-json",
    ),
]

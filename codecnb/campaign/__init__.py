"""Campaigns: a generator proposes, papermill runs one notebook per candidate on Dask
workers, MLflow records everything, and an interrupted campaign resumes."""
from codecnb.campaign.orchestrator import Campaign, CampaignSettings, Totals

__all__ = ["Campaign", "CampaignSettings", "Totals"]
